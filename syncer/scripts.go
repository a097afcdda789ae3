package syncer

import (
	_ "embed"
	"strings"
)

// The scripts a sync runs on its nodes. Each is run as sh -c SCRIPT with
// every value as a positional parameter: no path or argument is ever part
// of a script's text. Each file says what its parameters are.
var (
	//go:embed scripts/copy.sh
	copySh string
	//go:embed scripts/confine.sh
	confineSh string
	//go:embed scripts/mountinfo.awk
	mountinfoAwk string
	//go:embed scripts/keep.sh
	keepSh string
	//go:embed scripts/rsyncd.sh
	rsyncdSh string
	//go:embed scripts/rsyncd.conf
	rsyncdConf string
)

// oneLine is a script as one line, as a job's text must be: comment lines
// are left out and the others joined with a space. The scripts are written
// for it: every line ends a command with ";" or continues it (after "&&",
// "|", "{", "then", "do"...), where a space and a newline mean the same.
func oneLine(script string) string {
	var w []string
	for _, l := range strings.Split(script, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		w = append(w, l)
	}
	return strings.Join(w, " ")
}
