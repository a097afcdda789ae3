//go:build linux

package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestClosedPipeEndsDroveBySIGPIPE: drove's stdout or stderr a pipe whose
// reader is gone (`drove ... | head -1` after head exits) ends drove as it
// ends any Unix filter, by SIGPIPE, promptly: the choice documented in
// docs/jobs.md (issue 20.1). An exit status of 1 here would make every
// `| head` pipeline report a failure.
func TestClosedPipeEndsDroveBySIGPIPE(t *testing.T) {
	for _, stream := range []string{"stdout", "stderr"} {
		t.Run(stream, func(t *testing.T) {
			pr, pw, err := os.Pipe()
			require.NoError(t, err)
			require.NoError(t, pr.Close()) // the reader is gone before drove writes
			// Each job writes a line to stdout and to stderr (a message).
			c := exec.Command(os.Args[0], "-n", "2/:", "-j", "echo out; echo err >&2; exit 1", "-j", "echo out; echo err >&2; exit 1")
			c.Env = append(os.Environ(), "DROVE_AS_MAIN=1")
			other, err := os.Create(os.DevNull)
			require.NoError(t, err)
			defer other.Close()
			c.Stdout, c.Stderr = other, pw
			if stream == "stdout" {
				c.Stdout, c.Stderr = pw, other
			}
			require.NoError(t, c.Start())
			require.NoError(t, pw.Close())
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				_ = c.Process.Kill()
				t.Fatal("drove did not end within 30s with its " + stream + " closed")
			}
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee)
			ws := ee.Sys().(syscall.WaitStatus)
			require.True(t, ws.Signaled(), "want death by SIGPIPE, got %v", err)
			require.Equal(t, syscall.SIGPIPE, ws.Signal())
		})
	}
}
