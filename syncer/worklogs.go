package syncer

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/drove-dev/drove/partition"
)

// The nodes write their copies' logs under WORK/log, as the user they run
// jobs as; drove writes everything else in WORK (the journal, and the
// lists the copies read and trust). When drove runs as root and the nodes
// log in as another user, a work directory drove made is root's and the
// nodes cannot write their logs. drove then makes WORK/log theirs, and
// only WORK/log: what the copies trust stays drove's, and nothing in WORK
// is writable by anyone but its owner.

// nodeUser is the user a node runs jobs as, as it reported it.
type nodeUser struct{ uid, gid int }

// logsOwner returns the user to give WORK/log to: when every node that
// failed the check failed only because it cannot write the logs, they all
// reported one same user, not drove's, drove runs as root and WORK/log
// does not exist.
func (m *migration) logsOwner(failed map[string]*VisibilityError, users map[string]nodeUser) (nodeUser, bool) {
	var u nodeUser
	if len(failed) == 0 || os.Geteuid() != 0 {
		return u, false
	}
	first := true
	for name, e := range failed {
		nu, ok := users[name]
		if !e.workRO() || !ok || (!first && nu != u) {
			return u, false
		}
		u, first = nu, false
	}
	if u.uid == os.Geteuid() {
		return u, false
	}
	if _, err := os.Lstat(filepath.Join(m.o.Work, "log")); !os.IsNotExist(err) {
		return u, false
	}
	return u, true
}

// giveLogs makes WORK/log, mode 0755, owned by u. A refused run removes
// it again (madeWork).
func (m *migration) giveLogs(u nodeUser) error {
	logs := filepath.Join(m.o.Work, "log")
	if err := os.Mkdir(logs, 0o755); err != nil {
		return fmt.Errorf("sync: work directory: %w", err)
	}
	m.made.logs = logs
	if err := os.Lchown(logs, u.uid, u.gid); err != nil {
		return fmt.Errorf("sync: work directory: %w", err)
	}
	return nil
}

// logsFix returns the shell command that, run as root, lets user u write
// the logs in work, or "" when none is known to: WORK/log is u's already,
// or not a directory.
// made says this run made work (a refused run removes it), so the command
// makes it too, owned by drove's user (euid, egid).
func logsFix(work string, made bool, u nodeUser, euid, egid int) string {
	q := partition.Quote
	logs := filepath.Join(work, "log")
	if fi, err := os.Lstat(logs); err == nil {
		if uid, ok := fileOwner(fi); !fi.IsDir() || !ok || uid == u.uid {
			return ""
		}
		return fmt.Sprintf("chown -R %d:%d %s", u.uid, u.gid, q(logs))
	}
	fix := fmt.Sprintf("install -d -o %d -g %d %s", u.uid, u.gid, q(logs))
	if made && euid != 0 {
		fix = fmt.Sprintf("install -d -o %d -g %d %s && %s", euid, egid, q(work), fix)
	}
	return fix
}
