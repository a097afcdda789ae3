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
//
// rclone resolves paths by path too (it lists a directory, then opens its
// files): against the same loop, 560 files from outside in 21 of 40 runs.
// It is run in a mount namespace of its own (unshare; a user namespace
// too when not root) where SRC and every mount below it are bind-mounted
// on themselves nosymfollow, so the kernel refuses to follow any symbolic
// link below SRC (0 leaks; rclone does not follow symlinks anyway, and
// reads them with readlink for --links, which nosymfollow allows). Where
// that cannot be done (not Linux, no unshare, namespaces not allowed) the
// copy runs unconfined and says so on the job's stdout (unconfinedWord),
// which drove reports.

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

// unconfinedWord is what an rclone copy prints on the job's stdout when it
// could not be confined to SRC and ran without.
const unconfinedWord = "drove-unconfined"

// confineScript runs in the new mount namespace as sh -c SCRIPT sh SRC
// LINE: it bind-mounts SRC on itself with every mount below it (--rbind),
// makes each of those mounts nosymfollow, keeping its other per-mount
// options (a user namespace may not clear them), and runs LINE; exit 125
// when a step before LINE failed. Mount points are read from
// /proc/self/mountinfo, whose octal escapes awk decodes (in the C locale,
// so that %c is a byte); one holding a newline fails the whole.
const confineScript = `mount --rbind -- "$1" "$1" 2>/dev/null || exit 125; ` +
	`drove_s=${1%/} LC_ALL=C awk '` + mountinfoAwk + `' /proc/self/mountinfo | ` +
	`{ n=0; while IFS=' ' read -r o m; do mount -o "remount,bind,nosymfollow,$o" -- "$m" 2>/dev/null || exit 125; n=1; done; [ $n = 1 ]; } || exit 125; ` +
	`eval "$2"`

// mountinfoAwk prints "OPTIONS MOUNTPOINT" for every mount of
// /proc/self/mountinfo at or below $drove_s, mount points decoded from
// their octal escapes, and a line that makes the remount fail for one
// holding a newline. One line: the job's text has none.
const mountinfoAwk = `function dec(p,  out, c) { out = ""; ` +
	`while (match(p, /\\[0-7][0-7][0-7]/)) { c = substr(p, RSTART + 1, 3); ` +
	`out = out substr(p, 1, RSTART - 1) sprintf("%c", substr(c, 1, 1) * 64 + substr(c, 2, 1) * 8 + substr(c, 3, 1)); ` +
	`p = substr(p, RSTART + 4) } return out p } ` +
	`BEGIN { s = ENVIRON["drove_s"] } ` +
	`{ m = dec($5); if (m == s || index(m, s "/") == 1) { if (m ~ /\n/) { print "x"; exit } print $6 " " m } }`

// rcloneConfined is line (an rclone command) run with SRC confined as
// above, or unconfined with unconfinedWord on fd 3 (the job's stdout: see
// wrap) when that is not possible here:
//
//	drove_u=-m; [ "$(id -u)" -eq 0 ] || drove_u=-rm; if [ "$(uname -s)" = Linux ] && unshare $drove_u true 2>/dev/null;
//	then unshare $drove_u sh -c SCRIPT sh SRC LINE; s=$?; else s=125; fi;
//	if [ $s -eq 125 ]; then echo drove-unconfined >&3; LINE; else (exit $s); fi
func (o *Options) rcloneConfined(line string) string {
	if followsLinks(o.ToolArgs) {
		return line // asked to follow symlinks, wherever they lead
	}
	q := partition.Quote
	return `drove_u=-m; [ "$(id -u)" -eq 0 ] || drove_u=-rm; if [ "$(uname -s)" = Linux ] && unshare $drove_u true 2>/dev/null; ` +
		`then unshare $drove_u sh -c ` + q(confineScript) + ` sh ` + q(o.Src) + ` ` + q(line) + `; s=$?; else s=125; fi; ` +
		`if [ $s -eq 125 ]; then echo ` + unconfinedWord + ` >&3; ` + line + `; else (exit $s); fi`
}

// followsLinks reports whether rclone arguments ask it to follow symbolic
// links (-L, --copy-links, alone or among other short flags), which
// nosymfollow would make fail: such a copy is not confined.
func followsLinks(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--copy-links" || strings.HasPrefix(a, "--copy-links=") && a != "--copy-links=false" {
			return true
		}
		if len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a, 'L') {
			return true
		}
	}
	return false
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
