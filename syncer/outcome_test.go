package syncer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/shquote"
	"github.com/stretchr/testify/require"
)

// loginNoise is what the login files of TestLoginShellPrintsOnStdout's node
// print on stdout: a greeting, lines that look like outcome lines without
// the run's nonce, and a last line without a newline.
const loginNoise = `echo "Welcome to node7"; echo "drove-outcome 0123 exit 24"; echo "drove-outcome  unconfined"; echo drove-unconfined; echo drove-vanished; printf 'no newline'`

// TestLoginShellPrintsOnStdout: a node whose login shell prints on stdout
// (here bash --login with a ~/.bash_profile that echoes, as many nodes'
// profiles do) copies a tree with nothing vanishing and nothing
// unconfined: the sync must count no vanished source and no unconfined
// node, whatever the shell printed.
func TestLoginShellPrintsOnStdout(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("this machine runs no jobs on Windows")
	}
	needTool(t, "bash")
	for _, tool := range []copytool.Tool{copytool.Rsync, copytool.Rclone} {
		t.Run(tool.String(), func(t *testing.T) {
			needTool(t, tool.String())
			dir := t.TempDir()
			t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
			if tool == copytool.Rclone && !canConfine(t, nil) {
				t.Skip("rclone cannot be confined here: it runs unconfined whatever the shell prints")
			}
			home := filepath.Join(dir, "home")
			require.NoError(t, os.Mkdir(home, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(home, ".bash_profile"), []byte(loginNoise+"\n"), 0o644))
			// The node's login shell prints as it starts, before the job.
			out, err := exec.Command("env", "HOME="+home, "bash", "--login", "-c", "true").Output()
			require.NoError(t, err)
			require.Contains(t, string(out), "Welcome to node7")

			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			for i := range 6 {
				p := filepath.Join(src, fmt.Sprintf("d%d", i%2), fmt.Sprintf("f%d", i))
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(strings.Repeat("x", i)), 0o644))
			}
			login := func(cmd string) string {
				return "HOME=" + shquote.Quote(home) + " exec bash --login -c " + shquote.Quote(cmd)
			}
			res, err := Run(context.Background(), Options{
				Src: src, Dst: dst, Work: filepath.Join(dir, "work"), Tool: tool,
				MaxFiles: 2, FinalPass: true, Nodes: hookNodes(2, login, nil),
			})
			require.NoError(t, err)
			require.True(t, res.OK(), "failed %+v final %v", res.Failed, res.FinalErr)
			require.Zero(t, res.Vanished, "no source vanished")
			require.Empty(t, res.Unconfined, "rclone ran confined")
			for i := range 6 {
				b, err := os.ReadFile(filepath.Join(dst, fmt.Sprintf("d%d", i%2), fmt.Sprintf("f%d", i)))
				require.NoError(t, err)
				require.Equal(t, strings.Repeat("x", i), string(b))
			}
		})
	}
}

// TestOutcomeFailedLine: "failed N" is read for N from 1 to 255 written
// as copy.sh writes it, and nothing else is.
func TestOutcomeFailedLine(t *testing.T) {
	for line, want := range map[string]int{
		"failed 1": 1, "failed 137": 137, "failed 255": 255,
		"failed 0": 0, "failed 256": 0, "failed 01": 0, "failed -1": 0, "failed +1": 0, "failed 1 ": 0, "failed": 0,
	} {
		p := newOutcomeParser("n0")
		_, _ = p.Write([]byte("noise\ndrove-outcome n0 " + line + "\n"))
		require.Equal(t, want, p.outcome.Failed, "%q", line)
	}
}

// TestOutcomeRsyncLine: what a copy reports of its node's rsync.
func TestOutcomeRsyncLine(t *testing.T) {
	for line, want := range map[string]string{
		"rsync trust-sender": rsyncTrustSender, "rsync plain": rsyncPlain,
		"rsync": "", "rsync ": "", "rsync trust-sender ": "", "rsync other": "", "rsync plain plain": "",
	} {
		p := newOutcomeParser("n0")
		_, _ = p.Write([]byte("noise\ndrove-outcome n0 " + line + "\ndrove-outcome n1 rsync plain\n"))
		require.Equal(t, want, p.outcome.Rsync, "%q", line)
	}
}
