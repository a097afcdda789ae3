//go:build unix

package nodes

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestProxyWatchKillsGroupWhenDroveEndGoes: a ProxyCommand whose children
// fork and ignore SIGHUP ("a | b", a relay) is killed, children included,
// when drove's end of the watchdog's pipe closes without Close being
// called, which is what the kernel does when drove is killed by SIGKILL.
// realsshd's TestSIGKILLWithForkingProxyCommandLeavesNoJob (package main)
// kills a real drove.
func TestProxyWatchKillsGroupWhenDroveEndGoes(t *testing.T) {
	pid := filepath.Join(t.TempDir(), "pid")
	c, err := startProxyCommand(`sh -c 'trap "" HUP; echo $$ >`+pid+`; exec sleep 60' | cat`, "node", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	var child int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pid)
		if err != nil || len(b) == 0 || b[len(b)-1] != '\n' {
			return false
		}
		_, err = fmt.Sscan(string(b), &child)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, syscall.Kill(child, 0), "the command's child is not running")

	require.NoError(t, c.watch.hold.Close()) // as drove's death closes it
	require.Eventually(t, func() bool { return syscall.Kill(child, 0) != nil }, 10*time.Second, 10*time.Millisecond,
		"the ProxyCommand's child outlived drove's end of the pipe")
	select {
	case <-c.watch.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the watchdog did not end")
	}
}
