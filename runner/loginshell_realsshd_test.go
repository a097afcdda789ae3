//go:build slow && unix

package runner

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestRealSSHLoginShellNotSh runs jobs on real OpenSSH nodes whose
// ForceCommand is no POSIX shell running the command: tclsh (it reads
// commands from stdin), rbash (restricted), and a menu script that reads
// its input and logs it. Each job fails the node with its reason, within
// the ready timeout, instead of hanging; rbash runs nothing of the job;
// a job cancelled on the menu gives it no kill word.
func TestRealSSHLoginShellNotSh(t *testing.T) {
	for _, tool := range []string{"tclsh", "rbash"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (.ci/run installs it)", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	dir, err := os.MkdirTemp("", "drove-loginshell-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777)) // the login user logs there
	menu, log, ran := filepath.Join(dir, "menu"), filepath.Join(dir, "menu.log"), filepath.Join(dir, "ran")
	require.NoError(t, os.WriteFile(menu, []byte("#!/bin/sh\necho '1) backup 2) quit'\nwhile read -r l; do echo \"$l\" >>"+log+"; done\n"), 0o755))

	forced := []string{
		"ForceCommand tclsh",
		`ForceCommand exec rbash -c "$SSH_ORIGINAL_COMMAND"`,
		"ForceCommand " + menu,
	}
	c := sshdtest.Start(t, sshdtest.Options{Nodes: len(forced), NodeConfig: func(i int) []string { return forced[i : i+1] }})
	host := func(i int) *SSH {
		dial := func(ctx context.Context) (*ssh.Client, error) { return c.Dial(ctx, i) }
		h, err := NewSSH(context.Background(), c.Nodes[i].Name, dial, SSHOptions{ReadyTimeout: 2 * time.Second, Grace: time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { _ = h.Close() })
		return h
	}
	run := func(ctx context.Context, h *SSH) error {
		errc := make(chan error, 1)
		go func() { errc <- h.Run(ctx, ": >"+ran, io.Discard, io.Discard) }()
		select {
		case err := <-errc:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("the job still hangs 30 s on")
			return nil
		}
	}

	err = run(context.Background(), host(0))
	var le *LoginShellError
	require.ErrorAs(t, err, &le, "tclsh")
	require.ErrorAs(t, err, new(*NodeError))
	require.False(t, le.Restricted)
	require.Equal(t, 2*time.Second, le.Waited)
	require.Contains(t, err.Error(), "the login shell did not run drove's wrapper; drove needs a POSIX sh")

	err = run(context.Background(), host(1))
	require.ErrorAs(t, err, &le, "rbash")
	require.ErrorAs(t, err, new(*NodeError))
	require.True(t, le.Restricted, "%v", err)
	require.Zero(t, le.Waited, "rbash ends at once")
	require.Contains(t, err.Error(), "restricted")
	require.NoFileExists(t, ran, "rbash ran the job")

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = run(ctx, host(2))
	require.True(t, errors.Is(err, context.DeadlineExceeded), "menu: %v", err)
	c.WaitNoProcs(t, menu, 20*time.Second)
	b, err := os.ReadFile(log)
	if !errors.Is(err, os.ErrNotExist) {
		require.NoError(t, err)
	}
	require.Empty(t, string(b), "drove wrote to the menu's input")
	require.NoFileExists(t, ran)
}
