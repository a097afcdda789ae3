package runner

import (
	_ "embed"
	"strings"
)

// The shell programs drove runs on nodes. Each file is POSIX sh checked by
// shellcheck; its values come as positional parameters, never spliced into
// its text.
var (
	//go:embed watch.sh
	watchFile string
	//go:embed reraise.sh
	reraiseFile string
	//go:embed guard.sh
	guardFile string
)

// The scripts as they are sent (see compact); set once, never changed.
// reraise follows a job's eval; see jobCommand and reraise.sh.
var (
	watcher      = compact(watchFile)
	reraise      = compact(reraiseFile)
	guardProgram = compact(guardFile)
)

// compact returns script as it is sent to a node: without its comment
// lines, its indentation, its blank lines and its final newline. The
// scripts hold no here-documents and no multi-line strings, so this
// changes nothing they do.
func compact(script string) string {
	var b strings.Builder
	for line := range strings.Lines(script) {
		line = strings.TrimLeft(strings.TrimSuffix(line, "\n"), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	return b.String()
}
