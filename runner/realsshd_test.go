//go:build slow && unix

package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestRealSSHGuard runs guarded jobs on a real OpenSSH node: output and
// exit status pass through, a cancelled job is killed with its children by
// the guard, and jobs still running when the connection closes die with it.
func TestRealSSHGuard(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	dial := func(ctx context.Context) (*ssh.Client, error) { return c.Dial(ctx, 0) }
	h, err := NewSSH(context.Background(), "node1", dial, SSHOptions{Grace: time.Second})
	require.NoError(t, err)
	defer h.Close()
	require.NoError(t, h.Run(context.Background(), "true", io.Discard, io.Discard))
	require.Eventually(t, func() bool { return guardNow(h) != nil }, 10*time.Second, 5*time.Millisecond)

	var so, se bytes.Buffer
	err = h.Run(context.Background(), "echo out; echo err >&2; exit 3", &so, &se)
	require.Equal(t, &ExitError{Status: 3}, err)
	require.Equal(t, "out\n", so.String())
	require.Equal(t, "err\n", se.String())

	m := fmt.Sprintf("droveguard%d", time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- h.Run(ctx, fmt.Sprintf("trap '' TERM; sh -c 'sleep 30; : %s' & sleep 30; : %s", m, m), io.Discard, io.Discard)
	}()
	require.Eventually(t, func() bool { return len(c.Procs(t, m)) >= 1 }, 30*time.Second, 10*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	c.WaitNoProcs(t, m, 20*time.Second) // the job would live 30 s

	m2 := m + "b"
	go func() {
		errc <- h.Run(context.Background(), fmt.Sprintf("sh -c 'sleep 30; : %s' & sleep 30; : %s", m2, m2), io.Discard, io.Discard)
	}()
	require.Eventually(t, func() bool { return len(c.Procs(t, m2)) >= 1 }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, h.Close())
	<-errc
	c.WaitNoProcs(t, m2, 20*time.Second)
}

// TestRealSSHJobsMeanWhatShMeans runs the oracle corpus (trickyJobs) on a
// real OpenSSH node, whose login shell is /bin/sh: every job guarded, and
// one in four again as the first job of a connection, with its own
// watcher. Each must give the bytes and status "sh -c JOB" gives here.
func TestRealSSHJobsMeanWhatShMeans(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	dial := func(ctx context.Context) (*ssh.Client, error) { return c.Dial(ctx, 0) }
	newHost := func() *SSH {
		h, err := NewSSH(context.Background(), "node1", dial, SSHOptions{Grace: time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { _ = h.Close() })
		return h
	}
	guarded := newHost()
	require.NoError(t, guarded.Run(context.Background(), "true", io.Discard, io.Discard))
	require.Eventually(t, func() bool { return guardNow(guarded) != nil }, 10*time.Second, 5*time.Millisecond)
	for i, job := range trickyJobs {
		want := runShell(t, "sh", job, false)
		requireSame(t, "sh", job, "real sshd guarded", want, hostRun(t, guarded, job))
		if i%4 != 0 {
			// A connection per job costs sshd a fork and a handshake; the
			// watcher wrapper runs every job locally and in-process.
			continue
		}
		fresh := newHost()
		requireSame(t, "sh", job, "real sshd watcher", want, hostRun(t, fresh, job))
		require.NoError(t, fresh.Close())
	}
}

// TestRealSSHKilledJobTakesEscapedProcesses: on OpenSSH, a guarded job
// cancelled (--timeout, second Ctrl-C) takes with it what it started in
// sessions of its own, and so does a job whose connection closes.
func TestRealSSHKilledJobTakesEscapedProcesses(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	dial := func(ctx context.Context) (*ssh.Client, error) { return c.Dial(ctx, 0) }
	h, err := NewSSH(context.Background(), "node1", dial, SSHOptions{Grace: time.Second})
	require.NoError(t, err)
	defer h.Close()
	require.NoError(t, h.Run(context.Background(), "true", io.Discard, io.Discard))
	require.Eventually(t, func() bool { return guardNow(h) != nil }, 10*time.Second, 5*time.Millisecond)

	m := fmt.Sprintf("droveescape%d", time.Now().UnixNano())
	job := escapingJob(m, "/tmp/"+m+".started") + "; : " + m
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.Run(ctx, job, io.Discard, io.Discard) }()
	require.Eventually(t, func() bool { return len(c.Procs(t, "sleep 30; : "+m)) >= 3 }, 30*time.Second, 10*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	c.WaitNoProcs(t, m, 20*time.Second)

	m2 := m + "b"
	go func() {
		errc <- h.Run(context.Background(), escapingJob(m2, "/tmp/"+m2+".started"), io.Discard, io.Discard)
	}()
	require.Eventually(t, func() bool { return len(c.Procs(t, "sleep 30; : "+m2)) >= 3 }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, h.Close())
	<-errc
	c.WaitNoProcs(t, m2, 20*time.Second)
}
