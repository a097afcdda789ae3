//go:build unix

package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"github.com/stretchr/testify/require"

	"github.com/drove-dev/drove/internal/sshtest"
)

// TestReadyFilterDropsOnlyTheMark writes what a login shell, the mark and
// a job give a session's stderr, cut at random places: what comes out is
// every byte but the mark's, in order, whatever the job writes (another
// mark included).
func TestReadyFilterDropsOnlyTheMark(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, noise := range []string{"", "motd line\n", strings.Repeat("x", 3*readyHold+5)} {
		for _, job := range []string{"", "err\n", readyWord + "abc\n", readyWord + "tok\n", "no newline", strings.Repeat("e", 2*readyHold)} {
			in := noise + readyWord + "tok\n" + job
			for range 50 {
				var out bytes.Buffer
				f := newReadyFilter(&out, "tok")
				for rest := in; rest != ""; {
					n := min(len(rest), 1+r.IntN(len(in)))
					_, err := f.Write([]byte(rest[:n]))
					require.NoError(t, err)
					rest = rest[n:]
				}
				require.True(t, f.seen())
				require.NoError(t, f.finish())
				require.Equal(t, noise+job, out.String())
			}
			// As x/crypto/ssh copies a session's stderr: io.Copy, which
			// takes the filter's ReadFrom.
			for _, r := range []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in)), iotest.HalfReader(strings.NewReader(in))} {
				var out bytes.Buffer
				f := newReadyFilter(&out, "tok")
				n, err := io.Copy(f, r)
				require.NoError(t, err)
				require.Equal(t, int64(len(in)), n)
				require.NoError(t, f.finish())
				require.Equal(t, noise+job, out.String())
			}
		}
	}
	var out bytes.Buffer
	f := newReadyFilter(&out, "tok")
	_, _ = f.Write([]byte("rbash: line 1: /dev/null: restricted: cannot redirect output\nmore\n"))
	require.False(t, f.seen())
	e := f.refusal(0)
	require.True(t, e.Restricted)
	require.Equal(t, "rbash: line 1: /dev/null: restricted: cannot redirect output", e.Said)
	require.Empty(t, out.String(), "held until the outcome is known")
}

// TestReadyMarkUnderLoginShells runs a wrapped job with its ready prefix
// as sshd would, under each login shell: a POSIX shell writes the mark
// once, first, on stderr, and runs the job; rbash writes none, says
// "restricted" and runs nothing.
func TestReadyMarkUnderLoginShells(t *testing.T) {
	for _, shell := range []string{"sh", "dash", "bash", "zsh", "ksh", "rbash"} {
		t.Run(shell, func(t *testing.T) {
			path, err := exec.LookPath(shell)
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s is missing (.ci/run installs it)", shell)
				}
				t.Skipf("%s is not installed", shell)
			}
			ran := filepath.Join(t.TempDir(), "ran")
			c := exec.Command(path, "-c", readyPrefix("tok")+RemoteCommand("echo out; echo err >&2; : >"+ran, 1))
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			stdin, err := c.StdinPipe()
			require.NoError(t, err)
			defer stdin.Close()
			var so, se bytes.Buffer
			c.Stdout, c.Stderr = &so, &se
			err = c.Run()
			if shell == "rbash" {
				require.Equal(t, 126, exitCode(t, err))
				require.NotContains(t, se.String(), readyWord)
				require.Contains(t, se.String(), "restricted")
				require.NoFileExists(t, ran)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "out\n", so.String())
			require.Equal(t, readyWord+"tok\nerr\n", se.String())
			require.FileExists(t, ran)
		})
	}
}

// stdinReader is a node whose "login shell" reads its input and runs
// nothing (tclsh, a menu): every session reports what it read once its
// input ends.
func stdinReader(t *testing.T) (ts *sshtest.Server, started <-chan struct{}, read <-chan string) {
	st, rd := make(chan struct{}, 16), make(chan string, 16)
	ts = sshtest.New(t, sshtest.Options{Handler: func(s gliderssh.Session) {
		st <- struct{}{}
		b, _ := io.ReadAll(s)
		rd <- string(b)
		_ = s.Exit(0)
	}})
	return ts, st, rd
}

// TestNodeWhoseShellReadsStdinFails: a job on a node whose login shell
// reads its input instead of running drove's wrapper fails the node
// within the ready timeout, with the reason, instead of hanging; and
// nothing of drove's (the kill word) is written to that input, whether
// the job is given up on or cancelled.
func TestNodeWhoseShellReadsStdinFails(t *testing.T) {
	ts, _, _ := stdinReader(t)
	h := hostOn(t, ts, SSHOptions{ReadyTimeout: 300 * time.Millisecond, Grace: time.Second})
	errc := make(chan error, 1)
	go func() { errc <- h.Run(context.Background(), "echo hi", io.Discard, io.Discard) }()
	var err error
	select {
	case err = <-errc:
	case <-time.After(20 * time.Second):
		t.Fatal("the job still hangs 20 s on")
	}
	var ne *NodeError
	require.ErrorAs(t, err, &ne)
	var le *LoginShellError
	require.ErrorAs(t, err, &le)
	require.Equal(t, 300*time.Millisecond, le.Waited)
	require.Contains(t, err.Error(), "the login shell did not run drove's wrapper; drove needs a POSIX sh")

	ts, started, read := stdinReader(t)
	h = hostOn(t, ts, SSHOptions{ReadyTimeout: time.Minute, Grace: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { errc <- h.Run(ctx, "echo hi", io.Discard, io.Discard) }()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the session never started")
	}
	cancel()
	select {
	case err = <-errc:
	case <-time.After(20 * time.Second):
		t.Fatal("the cancelled job still hangs 20 s on")
	}
	require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	select {
	case got := <-read:
		require.Empty(t, got, "drove wrote to the input of a shell that is not its wrapper")
	case <-time.After(20 * time.Second):
		t.Fatal("the session's input never ended")
	}
}
