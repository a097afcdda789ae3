//go:build slow && linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// gatewayProc is a "drove gateway" process and the sshd session process
// that started it.
type gatewayProc struct{ pid, sshd int }

// gatewayProcs finds the drove gateways running on node n of c: processes
// serving as a gateway whose SSH_CONNECTION names n's address.
func gatewayProcs(t *testing.T, n *sshdtest.Node) []gatewayProc {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", "gateway-[0-9a-f]*/drove gateway --ready").Output()
	var ps []gatewayProc
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			v, ok := strings.CutPrefix(kv, "SSH_CONNECTION=")
			if !ok {
				continue
			}
			if c := strings.Fields(v); len(c) == 4 && c[2] == n.Host && c[3] == strconv.Itoa(n.Port) {
				ps = append(ps, gatewayProc{pid: pid, sshd: ppid(t, pid)})
			}
		}
	}
	return ps
}

func ppid(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	p, _ := strconv.Atoi(f[1])
	return p
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return f[0] != "Z"
}

// TestRealSSHGatewayKilledAndCut: of three gateways, one is killed and
// another cut (its sshd session process stopped: the controller's
// keepalives and heartbeats go unanswered, and the gateway's drove hears
// nothing from its controller) while every node runs a job. Nodes are
// reachable only through the gateways. Each lost gateway's running jobs
// are requeued within a bound derived from --keepalive, its nodes finish
// jobs through the third gateway, every job completes exactly once, no
// node is evicted, the cut gateway kills its jobs and exits on its own
// (its sshd still stopped), and nothing of drove's is left anywhere.
func TestRealSSHGatewayKilledAndCut(t *testing.T) {
	b := newGatewayBed(t, gatewayBedOptions{nodes: 9, gateways: 3})
	c := b.c
	// ServerAliveCountMax 3: a window of 8 s. (1 s evicted healthy nodes
	// on a machine with a load of 300.)
	const keepalive = 2 * time.Second
	events := filepath.Join(t.TempDir(), "events.jsonl")
	args := b.args(true, "--keepalive", keepalive.String(), "--grace", "1s", "--events", events, "-n", "node[4-9]")

	// The killed gateway is node4's first choice; the cut one, the first
	// choice of a node that does not start on the killed one.
	pool := routeTestPool(t, "node1", "node2", "node3")
	killed := pool.order("node4")[0].spec.Key()
	var cut string
	for _, n := range []string{"node5", "node6", "node7", "node8", "node9"} {
		if g := pool.order(n)[0].spec.Key(); g != killed && cut == "" {
			cut = g
		}
	}
	require.NotEmpty(t, cut, "every node starts on %s: rename the nodes", killed)
	nodeOf := func(name string) *sshdtest.Node {
		for _, n := range c.Nodes {
			if n.Name == name {
				return n
			}
		}
		t.Fatalf("no node %s", name)
		return nil
	}

	mark := marker(t)
	dir := b.sharedDir(t, "ran")
	// A job lasts well over the window (at most 10 s here): a job the cut
	// gateway runs is killed there before it can complete, so none
	// completes twice. (One that completed during the window, its end
	// unsent, would run again: a cut link cannot say otherwise.)
	const njobs = 12
	for i := range njobs {
		args = append(args, "-j", fmt.Sprintf("echo start >> %s/%d; sleep 25; echo done >> %s/%d; echo job %d # %s", dir, i, dir, i, i, mark))
	}
	done := goDrove(t, args...)
	waitFiles(t, dir, 6, 120*time.Second, "a job on every node")

	var k, s []gatewayProc
	testkit.WaitFor(t, 30*time.Second, "the gateways' processes", func() bool {
		k, s = gatewayProcs(t, nodeOf(killed)), gatewayProcs(t, nodeOf(cut))
		return len(k) == 1 && len(s) == 1 && s[0].sshd != 0
	})
	killedAt := time.Now()
	require.NoError(t, syscall.Kill(k[0].pid, syscall.SIGKILL))
	cutAt := time.Now()
	require.NoError(t, syscall.Kill(s[0].sshd, syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(s[0].sshd, syscall.SIGCONT) })

	r := waitRun(t, done, 300*time.Second)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NotRegexp(t, "evicted node .*gateway .* lost", r.stderr, "a node evicted for its gateway's loss")
	require.Contains(t, r.stderr, "drove: gateway "+killed+" lost: ")
	// The cut one is lost for its silence, said as such: its SSH
	// keepalives or its heartbeats went unanswered.
	require.Regexp(t, "drove: gateway "+cut+" lost: (its SSH connection is dead: no keepalive reply in|the gateway said nothing for)", r.stderr)

	// Every job completed once: its file says done once, its line once;
	// the lost gateways' first-round jobs started twice.
	for i := range njobs {
		b, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(i)))
		require.NoError(t, err)
		require.Equal(t, 1, strings.Count(string(b), "done"), "job %d: %q", i, b)
		require.Equal(t, 1, strings.Count(r.stdout, fmt.Sprintf("job %d\n", i)), "job %d", i)
	}

	// The order of events and the bound: each lost gateway's running jobs
	// were requeued after the loss and within the keepalive window (3
	// missed keepalives, one interval to the first, one tick of the
	// heartbeat's watch) and a generous margin for a loaded machine; after
	// both losses, jobs still succeeded on the nodes that had either
	// gateway first.
	window := keepalive * (3 + 2)
	const margin = 20 * time.Second
	var lostK, lostS time.Time
	after := map[string]bool{}
	for _, ev := range readEvents(t, events) {
		switch {
		case ev.Event == "job_finished" && ev.Requeued && strings.Contains(ev.Error, "gateway "+killed+" lost"):
			if lostK.IsZero() {
				lostK = ev.Time
			}
		case ev.Event == "job_finished" && ev.Requeued && strings.Contains(ev.Error, "gateway "+cut+" lost"):
			if lostS.IsZero() {
				lostS = ev.Time
			}
		case ev.Event == "job_finished" && ev.OK != nil && *ev.OK && !lostK.IsZero() && !lostS.IsZero():
			after[ev.Node] = true
		}
	}
	require.False(t, lostK.IsZero(), "no job requeued from %s:\n%s", killed, r.stderr)
	require.False(t, lostS.IsZero(), "no job requeued from %s:\n%s", cut, r.stderr)
	require.True(t, lostK.After(killedAt), "requeued before the kill")
	require.True(t, lostS.After(cutAt), "requeued before the cut")
	t.Logf("requeued after the kill: %s; after the cut: %s (window %s)", lostK.Sub(killedAt), lostS.Sub(cutAt), window)
	require.Less(t, lostK.Sub(killedAt), margin, "the killed gateway's loss took too long")
	require.Less(t, lostS.Sub(cutAt), window+margin, "the cut gateway's loss took longer than its window")
	for _, n := range []string{"node4", "node5", "node6", "node7", "node8", "node9"} {
		if first := pool.order(n)[0].spec.Key(); first == killed || first == cut {
			require.True(t, after[n], "node %s (first %s) ran nothing after both losses", n, first)
		}
	}

	// The cut gateway, its sshd still stopped, heard nothing from its
	// controller: it killed its jobs, closed its node connections and
	// exited; nothing of drove's is left on a node or a gateway.
	testkit.WaitFor(t, window+margin, "the cut gateway to exit on its own", func() bool { return !alive(s[0].pid) })
	noJobLeft(t, mark)
	require.NoError(t, syscall.Kill(s[0].sshd, syscall.SIGCONT))
	b.noGatewayLeft(t)
}

// TestRealSSHGatewayDroveStopped: a gateway whose drove is stopped while
// its sshd goes on answering keepalives is noticed by the heartbeat alone:
// its running jobs are requeued after the stop and within the heartbeat's
// window (and a margin), its nodes finish the run through the other
// gateway, each job's output arrives once, and no node is evicted. Once
// it runs again it finds its controller gone, kills what it ran and exits:
// nothing is left. (While it was stopped its jobs went on: they may
// complete twice, which nothing on the controller can prevent.)
func TestRealSSHGatewayDroveStopped(t *testing.T) {
	b := newGatewayBed(t, gatewayBedOptions{nodes: 6, gateways: 2})
	c := b.c
	const keepalive = 2 * time.Second
	events := filepath.Join(t.TempDir(), "events.jsonl")
	args := b.args(true, "--keepalive", keepalive.String(), "--grace", "1s", "--events", events, "-n", "node[3-6]")
	pool := routeTestPool(t, "node1", "node2")
	stopped := pool.order("node3")[0].spec.Key()
	var gw *sshdtest.Node
	for _, n := range c.Nodes {
		if n.Name == stopped {
			gw = n
		}
	}

	mark := marker(t)
	dir := b.sharedDir(t, "ran")
	const njobs = 10
	for i := range njobs {
		args = append(args, "-j", fmt.Sprintf("echo start >> %s/%d; sleep 10; echo job %d # %s", dir, i, i, mark))
	}
	done := goDrove(t, args...)
	waitFiles(t, dir, 4, 120*time.Second, "a job on every node")
	var s []gatewayProc
	testkit.WaitFor(t, 30*time.Second, "the gateway's drove", func() bool {
		s = gatewayProcs(t, gw)
		return len(s) == 1
	})
	stoppedAt := time.Now()
	require.NoError(t, syscall.Kill(s[0].pid, syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(s[0].pid, syscall.SIGCONT) })

	r := waitRun(t, done, 300*time.Second)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NotRegexp(t, "evicted node .*gateway .* lost", r.stderr, "a node evicted for its gateway's loss")
	require.Contains(t, r.stderr, "drove: gateway "+stopped+" lost: the gateway said nothing for")
	for i := range njobs {
		require.Equal(t, 1, strings.Count(r.stdout, fmt.Sprintf("job %d\n", i)), "job %d", i)
	}

	window := keepalive * (3 + 2) // the controller's window and one tick
	const margin = 20 * time.Second
	var lost time.Time
	for _, ev := range readEvents(t, events) {
		if ev.Event == "job_finished" && ev.Requeued && strings.Contains(ev.Error, "gateway "+stopped+" lost") && lost.IsZero() {
			lost = ev.Time
		}
	}
	require.False(t, lost.IsZero(), "no job requeued from %s:\n%s", stopped, r.stderr)
	require.True(t, lost.After(stoppedAt.Add(keepalive)), "requeued before the heartbeat could miss anything")
	t.Logf("requeued after the stop: %s (window %s)", lost.Sub(stoppedAt), window)
	require.Less(t, lost.Sub(stoppedAt), window+margin)

	require.NoError(t, syscall.Kill(s[0].pid, syscall.SIGCONT))
	testkit.WaitFor(t, 30*time.Second, "the resumed gateway to exit", func() bool { return !alive(s[0].pid) })
	noJobLeft(t, mark)
	b.noGatewayLeft(t)
}
