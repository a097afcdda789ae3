package syncer

// How the copies read SRC without leaving it (measurements and history:
// docs/design-sync.md, "Reading SRC without leaving it").
//
// Every rsync of a sync reads SRC as a module of a single-use rsync
// daemon that the copy starts over a pipe (rshCommand, rsyncPath): module
// "root" chroots to SRC, for a node that runs jobs as root; module "user"
// relies on rsync's own confinement of daemon modules (rsync 3.4 and
// later). copy.sh picks the module with id -u on the node.
//
// Every rclone copy runs in a mount namespace of its own where SRC and
// every mount below it are nosymfollow (confine.sh), unless the tool
// arguments ask it to follow links (copytool.FollowsLinks). Where that
// cannot be done the copy runs unconfined and reports it as its outcome
// (outcome.go), which drove reports in Result.Unconfined.

import (
	"regexp"
	"strconv"
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

// rsyncPath is rsync's --rsync-path: the daemon's command (rsyncd.sh,
// defined as a function and called with the configuration for src and the
// names of envRefs(src) as parameters), which the "remote shell" parses
// and runs itself (no other shell is started), rsync appending "--server
// --daemon .".
func rsyncPath(src string) string { return daemonCommand(rsyncdSh, src) }

// daemonCommand is rsyncPath with script as rsyncd.sh.
func daemonCommand(script, src string) string {
	q := partition.Quote
	lines := strings.Split(strings.TrimSuffix(daemonConf(src), "\n"), "\n")
	w := []string{"drove_rsyncd()", "{", oneLine(script), "};", "drove_rsyncd", strconv.Itoa(len(lines))}
	for _, l := range lines {
		w = append(w, q(l))
	}
	unset := envRefs(src)
	w = append(w, strconv.Itoa(len(unset)))
	for _, n := range unset {
		w = append(w, q(n))
	}
	return strings.Join(w, " ")
}

// daemonConf is the rsync daemon configuration that serves src
// (scripts/rsyncd.conf). src is absolute and holds no newline (validate):
// the value is taken verbatim up to the end of the line, with surrounding
// white space trimmed, which the trailing slash protects.
func daemonConf(src string) string {
	return strings.ReplaceAll(rsyncdConf, "{path}", strings.TrimSuffix(src, "/")+"/")
}

// rsyncSource is rsync's source argument, and the options before it, that
// read SRC through the daemon (drove_m is the module and drove_ts
// --trust-sender or nothing, both set by copy.sh):
//
//	$drove_ts -e RSH --rsync-path=DAEMON "drove::$drove_m/"
//
// --trust-sender (rsync 3.2.5 and later) skips the receiver's check of
// every name the sender sends against the names it asked for (the fix of
// CVE-2022-29154), which with a list costs the receiver a wildcard match
// per name per listed path; the sender here is drove's own daemon reading
// SRC, which sends what it is asked for.
func (o *Options) rsyncSource() string {
	q := partition.Quote
	return "$drove_ts -e " + q(rshCommand) + " --rsync-path=" + q(rsyncPath(o.Src)) + ` "` + daemonHost + `::$drove_m/"`
}
