package syncer

import (
	"os"
	"os/exec"
	"testing"

	"github.com/drove-dev/drove/copytool"
)

// needStaleView skips a test unless this machine can give a job a stale
// view of SRC: root, and unshare(1) making mount namespaces.
func needStaleView(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a stale view of SRC needs root (a mount namespace)")
	}
	if err := exec.Command("unshare", "-m", "true").Run(); err != nil {
		t.Skipf("unshare -m: %v", err)
	}
}

// staleShell is cmd run in a mount namespace of its own where old is
// bind-mounted over src: the job sees an older copy of SRC, as a node
// with a stale view (an NFS client's cache, a lagging replica) does.
func staleShell(old, src, cmd string) string {
	q := copytool.Quote
	return "unshare -m sh -c " + q(`mount --bind "$1" "$2" && eval "$3"`) + " sh " + q(old) + " " + q(src) + " " + q(cmd)
}
