//go:build unix

package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
)

func runOn(t *testing.T, h Host, cmd string) (string, string, error) {
	t.Helper()
	var so, se bytes.Buffer
	err := h.Run(context.Background(), cmd, &so, &se)
	return so.String(), se.String(), err
}

// guardedHost is a host whose connection's guard is up, so its jobs run
// guarded rather than with their own watcher.
func guardedHost(t *testing.T, ts *sshtest.Server, opts SSHOptions) *SSH {
	t.Helper()
	h := hostOn(t, ts, opts)
	_, _, err := runOn(t, h, "true")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return guardNow(h) != nil }, 10*time.Second, 5*time.Millisecond)
	return h
}

func TestSSHRunReportsOutputAndExactStatus(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		t.Run(fmt.Sprintf("guarded=%v", guarded), func(t *testing.T) {
			ts := sshtest.New(t, sshtest.Options{})
			h := hostOn(t, ts, SSHOptions{})
			if guarded {
				h = guardedHost(t, ts, SSHOptions{})
			}
			out, errOut, err := runOn(t, h, `echo out; echo err >&2`)
			require.NoError(t, err)
			require.Equal(t, "out\n", out)
			require.Equal(t, "err\n", errOut)

			h = hostOn(t, ts, SSHOptions{})
			if guarded {
				h = guardedHost(t, ts, SSHOptions{})
			}
			_, _, err = runOn(t, h, `exit 3`)
			require.Equal(t, &ExitError{Status: 3}, err)

			// 255 is the job's own status: ssh-based tools cannot tell it
			// from a transport failure, drove can.
			_, _, err = runOn(t, h, `exit 255`)
			require.Equal(t, &ExitError{Status: 255}, err)

			_, _, err = runOn(t, h, `kill -USR1 $$`)
			var ee *ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, "USR1", ee.Signal)
		})
	}
}

// TestSSHOpensMoreConnectionsWhenSessionsAreRefused: a server that allows
// two sessions per connection still runs six jobs at once.
func TestSSHOpensMoreConnectionsWhenSessionsAreRefused(t *testing.T) {
	ts := sshtest.New(t, sshtest.Options{MaxSessions: 2})
	h := hostOn(t, ts, SSHOptions{})
	dir := t.TempDir()
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	// Each job waits until all n have started, so they must run at once.
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := fmt.Sprintf(`touch %s/%d; i=0; while [ $(ls %s | wc -l) -lt %d ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; [ $i -lt 200 ]`, dir, i, dir, n)
			_, _, err := runOn(t, h, cmd)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Positive(t, ts.Refused(), "the server never refused a session: the test proves nothing")
	require.GreaterOrEqual(t, h.Conns(), 3)
}

// nodeFailure starts a long job on h, does what to the node once the job
// runs, and returns the job's error (failing if it does not end).
func nodeFailure(t *testing.T, h *SSH, what func()) error {
	t.Helper()
	started := filepath.Join(t.TempDir(), "started")
	errc := make(chan error, 1)
	go func() {
		_, _, err := runOn(t, h, "touch "+started+"; sleep 30")
		errc <- err
	}()
	require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 10*time.Second, 10*time.Millisecond)
	what()
	select {
	case err := <-errc:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("the job did not end")
		return nil
	}
}

func TestSSHKilledNodeIsANodeError(t *testing.T) {
	ts := sshtest.New(t, sshtest.Options{})
	err := nodeFailure(t, hostOn(t, ts, SSHOptions{}), ts.Kill)
	var ne *NodeError
	require.ErrorAs(t, err, &ne, "got %v", err)
}

func TestSSHKeepaliveDetectsFrozenNode(t *testing.T) {
	ts := sshtest.New(t, sshtest.Options{})
	err := nodeFailure(t, hostOn(t, ts, SSHOptions{KeepaliveInterval: 100 * time.Millisecond, KeepaliveCountMax: 3}), ts.Freeze)
	var ne *NodeError
	require.ErrorAs(t, err, &ne, "got %v", err)
	require.Contains(t, err.Error(), "keepalive")
}

// TestSSHCancelKillsRemoteTree: cancelling a job kills it and what it
// started on the node, though the server has no pty and the job ignores
// TERM: by the job's own watcher (the first job on a connection), and by
// the connection's guard (later jobs).
func TestSSHCancelKillsRemoteTree(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		t.Run(fmt.Sprintf("guarded=%v", guarded), func(t *testing.T) {
			ts := sshtest.New(t, sshtest.Options{})
			h := hostOn(t, ts, SSHOptions{Grace: time.Second})
			if guarded {
				h = guardedHost(t, ts, SSHOptions{Grace: time.Second})
			}
			dir := t.TempDir()
			started, survived := filepath.Join(dir, "started"), filepath.Join(dir, "survived")
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				errc <- h.Run(ctx, "trap '' TERM; (sleep 4; touch "+survived+") & touch "+started+"; sleep 4; touch "+survived, &bytes.Buffer{}, &bytes.Buffer{})
			}()
			require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 10*time.Second, 10*time.Millisecond)
			cancel()
			require.ErrorIs(t, <-errc, context.Canceled)
			// Wait past the job's own end: nothing may touch the marker.
			deadline := time.Now().Add(6 * time.Second)
			for time.Now().Before(deadline) {
				_, err := os.Stat(survived)
				require.True(t, os.IsNotExist(err), "a process of the cancelled job kept running")
				if !psHas(t, survived) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			require.False(t, psHas(t, survived), "processes of the cancelled job are still running")
		})
	}
}

// TestSSHGuardKillsJobsWhenConnectionCloses: guarded jobs die with their
// connection (drove dying looks the same to the node).
func TestSSHGuardKillsJobsWhenConnectionCloses(t *testing.T) {
	ts := sshtest.New(t, sshtest.Options{})
	h := guardedHost(t, ts, SSHOptions{Grace: time.Second})
	dir := t.TempDir()
	started, survived := filepath.Join(dir, "started"), filepath.Join(dir, "survived")
	errc := make(chan error, 1)
	go func() {
		_, _, err := runOn(t, h, "(sleep 3; touch "+survived+") & touch "+started+"; sleep 3")
		errc <- err
	}()
	require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, h.Close())
	<-errc
	require.Eventually(t, func() bool { return !psHas(t, survived) }, 10*time.Second, 20*time.Millisecond)
	_, err := os.Stat(survived)
	require.True(t, os.IsNotExist(err), "a guarded job outlived its connection")
}

// TestSSHJobsRunWithoutTheirGuardOnceItDied: a guard killed on the node
// (the OOM killer, an admin) leaves its jobs' checks failing; drove
// notices the guard's session end and gives later jobs their own watcher,
// so they run rather than kill themselves.
func TestSSHJobsRunWithoutTheirGuardOnceItDied(t *testing.T) {
	ts := sshtest.New(t, sshtest.Options{})
	h := guardedHost(t, ts, SSHOptions{Grace: time.Second})
	g := h.conns[0].guard
	t.Cleanup(func() { _ = os.RemoveAll(g.dir) }) // a killed guard leaves it
	pid, err := strconv.Atoi(g.pid)
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	select {
	case <-g.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the guard's session did not end")
	}
	// A job given to the dead guard would kill itself.
	_, cmd := g.job("echo ran")
	out, err := exec.Command("sh", "-c", cmd).Output()
	require.Error(t, err)
	require.Empty(t, string(out))

	out2, _, err := runOn(t, h, "echo ran")
	require.NoError(t, err)
	require.Equal(t, "ran\n", out2)
}

// psHas reports whether a live process has s in its command line.
func psHas(t *testing.T, s string) bool {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err == nil && strings.Contains(string(st), ") Z ") {
			continue
		}
		return true
	}
	return false
}

// TestSSHJobWaitsForTheStartingGuard: the job that starts a connection's
// guard, and those that come while it starts, wait for it and run guarded
// (their mark names the guard) instead of forking a watcher each on the
// node; where the server refuses the guard, they run with their own.
func TestSSHJobWaitsForTheStartingGuard(t *testing.T) {
	for _, limit := range []int{0, 1} {
		t.Run(fmt.Sprintf("MaxSessions=%d", limit), func(t *testing.T) {
			ts := sshtest.New(t, sshtest.Options{MaxSessions: limit})
			h := hostOn(t, ts, SSHOptions{})
			first, _, err := runOn(t, h, `echo "$DROVE_JOB"`)
			require.NoError(t, err)
			require.NotContains(t, first, ":", "the first job carries its own watcher")
			second, _, err := runOn(t, h, `echo "$DROVE_JOB"`)
			require.NoError(t, err)
			if limit == 1 {
				require.NotContains(t, second, ":", "no guard: the job carries its own watcher")
				return
			}
			require.Contains(t, second, ":", "the second job ran guarded")
			require.True(t, strings.HasPrefix(strings.TrimSpace(second), filepath.Base(h.conns[0].guard.dir)+":"), second)
		})
	}
}
