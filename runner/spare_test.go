//go:build unix

package runner

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func spareStats(h *SSH) (hits, refusals int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.spareHits, h.spareRefusals
}

// runSequence runs "echo I" for i in 1..n on h, one after the other, and
// checks each output.
func runSequence(t *testing.T, h *SSH, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		out, _, err := runOn(t, h, "echo "+strconv.Itoa(i))
		require.NoError(t, err, "job %d", i)
		require.Equal(t, strconv.Itoa(i)+"\n", out, "job %d", i)
	}
}

// TestSSHJobsTakePreopenedSessions: once a connection's guard is up,
// every job takes the session opened while the job before it ran. The
// server holds the guard and one spare between jobs, and nothing once
// the host is closed.
func TestSSHJobsTakePreopenedSessions(t *testing.T) {
	ts := sshtest.New(t, sshtest.Options{})
	h := guardedHost(t, ts, SSHOptions{})
	runSequence(t, h, 10)
	hits, refusals := spareStats(h)
	require.Equal(t, 9, hits, "jobs 2 to 10 take a pre-opened session")
	require.Zero(t, refusals)
	require.Equal(t, 1, h.Conns())
	// Between jobs: the guard's session and one spare, counted by the server.
	require.Eventually(t, func() bool { return ts.OpenSessions() == 2 }, 10*time.Second, 5*time.Millisecond,
		"sessions open on the server: %d", ts.OpenSessions())
	require.NoError(t, h.Close())
	require.Eventually(t, func() bool { return ts.OpenSessions() == 0 && ts.OpenConns() == 0 }, 10*time.Second, 5*time.Millisecond,
		"left on the server: %d sessions, %d connections", ts.OpenSessions(), ts.OpenConns())
}

// TestSSHPreopenRefusedOpensOnDemand: a server that allows two sessions
// per connection (the job's and the guard's) refuses the pre-open; the
// connection then makes no more pre-opens, and jobs open their sessions
// when they start, on the connection they have.
func TestSSHPreopenRefusedOpensOnDemand(t *testing.T) {
	ts := sshtest.New(t, sshtest.Options{MaxSessions: 2})
	var dials atomic.Int64
	dial := dialTo(ts)
	h, err := NewSSH(context.Background(), ts.Addr, func(ctx context.Context) (*ssh.Client, error) {
		dials.Add(1)
		return dial(ctx)
	}, SSHOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	runSequence(t, h, 1)
	require.Eventually(t, func() bool { return guardNow(h) != nil }, 10*time.Second, 5*time.Millisecond)
	runSequence(t, h, 12)
	_, refusals := spareStats(h)
	require.Positive(t, refusals, "no pre-open was refused: the test proves nothing")
	require.Positive(t, ts.Refused())
	// One refused pre-open per connection at most: the first refusal stops
	// them (a job session refused while the last one was closing on the
	// server may still make drove dial another connection).
	require.LessOrEqual(t, int64(refusals), dials.Load(), "pre-opens kept being refused")
	// No count of hits is asserted: a pre-open that reaches the server
	// after the job's session has closed there is granted and used by the
	// next job (a loaded run had 3), which is timing, not the property.
	require.NoError(t, h.Close())
	require.Eventually(t, func() bool { return ts.OpenSessions() == 0 }, 10*time.Second, 5*time.Millisecond)
}

// TestSSHSpareClosedByServerStillRunsTheJob: a spare the server closed
// while it waited (sshd's ChannelTimeout) is replaced by a fresh session:
// the job runs, not fails with no status.
func TestSSHSpareClosedByServerStillRunsTheJob(t *testing.T) {
	ts := sshtest.New(t, sshtest.Options{IdleSessionTimeout: 100 * time.Millisecond})
	h := guardedHost(t, ts, SSHOptions{})
	runSequence(t, h, 1)
	// The spare opened during that job is closed by the server: only the
	// guard's session is left.
	require.Eventually(t, func() bool { return ts.OpenSessions() == 1 }, 10*time.Second, 5*time.Millisecond)
	hitsBefore, _ := spareStats(h)
	out, _, err := runOn(t, h, "echo after")
	require.NoError(t, err)
	require.Equal(t, "after\n", out)
	hits, _ := spareStats(h)
	require.Equal(t, hitsBefore+1, hits, "the job took the closed spare first")
}

// TestPoolLeavesNoSessions: a run over two nodes of four slots each, with
// pre-opened sessions (how many depends on when each guard comes up), runs
// every job once and leaves no session or connection open on either
// server.
func TestPoolLeavesNoSessions(t *testing.T) {
	servers := []*sshtest.Server{sshtest.New(t, sshtest.Options{}), sshtest.New(t, sshtest.Options{})}
	var ns []Node
	for _, ts := range servers {
		ns = append(ns, Node{Name: ts.Addr, Slots: 4, Connect: func(ctx context.Context) (Host, error) {
			h, err := NewSSH(ctx, ts.Addr, dialTo(ts), SSHOptions{})
			if err != nil {
				return nil, err
			}
			return h, nil
		}})
	}
	const n = 24
	cmds := make([]string, n)
	for i := range cmds {
		cmds[i] = fmt.Sprintf("echo %d", i+1)
	}
	var out bytes.Buffer
	rep := Run(context.Background(), Config{Nodes: ns, Jobs: jobs.Concat(&jobs.Strings{Cmds: cmds}), Stdout: NewOutput(&out)})
	require.True(t, rep.OK(), "%+v", rep)
	require.Equal(t, n, rep.Succeeded)
	require.ElementsMatch(t, cmdsOutput(n), strings.Fields(out.String()))
	for _, ts := range servers {
		require.Eventually(t, func() bool { return ts.OpenSessions() == 0 && ts.OpenConns() == 0 }, 10*time.Second, 5*time.Millisecond,
			"left on %s: %d sessions, %d connections", ts.Addr, ts.OpenSessions(), ts.OpenConns())
	}
}

func cmdsOutput(n int) []string {
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, strconv.Itoa(i))
	}
	return want
}
