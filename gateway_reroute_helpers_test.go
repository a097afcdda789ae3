//go:build unix

package main

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// rerouteJobs are the nodes (names) and jobs (cmds) of a run that loses a
// gateway mid-run: 12 nodes, 48 short jobs. victim is the gateway that
// first (a node's first gateway) gives the first node, and theirs says
// which nodes have it first; at least one has not.
func rerouteJobs(t *testing.T, first func(node string) string) (names, cmds []string, victim string, theirs map[string]bool) {
	t.Helper()
	for i := range 12 {
		names = append(names, fmt.Sprintf("n%02d", i))
	}
	victim = first(names[0])
	theirs = map[string]bool{}
	others := 0
	for _, n := range names {
		theirs[n] = first(n) == victim
		if !theirs[n] {
			others++
		}
	}
	require.NotZero(t, others, "every node has %s first", victim)
	for i := range 48 {
		cmds = append(cmds, fmt.Sprintf("sleep 0.1; echo job %d", i))
	}
	return names, cmds, victim, theirs
}

// rerouteWatch hears the events of a run in which gateway victim is lost
// while a job runs through it: the first success of node first (a node
// behind victim) arms it, and the next job that starts through victim
// (started, the gateways' onRun) calls kill before it runs, which returns
// once the controller has seen the loss: that job is in flight at the
// loss whatever the load. It keeps what requireRerouted checks.
type rerouteWatch struct {
	first, victim string
	kill          func()

	mu       sync.Mutex
	armed    bool
	killed   bool
	out      map[string]int // successes, by job
	after    map[string]int // successes after the kill, by node
	requeued []runner.Event // failed attempts
}

func newRerouteWatch(first, victim string, kill func()) *rerouteWatch {
	return &rerouteWatch{first: first, victim: victim, kill: kill, out: map[string]int{}, after: map[string]int{}}
}

// event is the run's runner.Config.Events.
func (w *rerouteWatch) event(ev runner.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch ev.Kind {
	case runner.JobSucceeded:
		w.out[ev.Job.Cmd]++
		if w.killed {
			w.after[ev.Node]++
		}
		if ev.Node == w.first {
			w.armed = true
		}
	case runner.JobFailed:
		w.requeued = append(w.requeued, ev)
	}
}

// started hears a job start through gateway gw (on the gateway's side).
func (w *rerouteWatch) started(gw string) {
	w.mu.Lock()
	now := w.armed && !w.killed && gw == w.victim
	w.killed = w.killed || now
	w.mu.Unlock()
	if now {
		w.kill()
	}
}

// rerouteHook is the gateways' onRun of a reroute test, made before the
// run's watch is: it hands each job's start to the watch once it is set.
type rerouteHook struct{ w atomic.Pointer[rerouteWatch] }

func (h *rerouteHook) onRun(gw string) {
	if w := h.w.Load(); w != nil {
		w.started(gw)
	}
}

// killSeen kills g and waits (30 s at most) until its controller's client
// has seen it lost.
func killSeen(g *inprocGateway) {
	g.kill()
	select {
	case <-g.cl.Done():
	case <-time.After(30 * time.Second):
	}
}

// requireRerouted checks the end of run rep of jobs cmds, watched by w, in
// which gateway victim was lost: the gateway was killed mid-run, the run
// succeeded with no node evicted, every job succeeded exactly once, the
// jobs running through victim were requeued (RouteErrors naming its loss,
// none evicting), each on a node behind it (behind[node]), and each node
// behind it succeeded in a job after the loss.
func requireRerouted(t *testing.T, rep *runner.Report, w *rerouteWatch, cmds []string, victim string, behind map[string]bool) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	require.True(t, rep.OK(), "%+v", rep)
	require.Empty(t, rep.Evicted)
	require.True(t, w.killed, "the gateway was not killed mid-run")
	for _, c := range cmds {
		require.Equal(t, 1, w.out[c], "%q succeeded %d times", c, w.out[c])
	}
	require.NotEmpty(t, w.requeued, "the lost gateway's running jobs were requeued")
	for _, ev := range w.requeued {
		require.True(t, ev.Requeued)
		require.False(t, ev.Evicted)
		var re *runner.RouteError
		require.ErrorAs(t, ev.Err, &re)
		require.ErrorContains(t, ev.Err, "gateway "+victim+" lost")
		require.True(t, behind[ev.Node], "%s does not go through %s", ev.Node, victim)
	}
	for _, n := range slices.Sorted(maps.Keys(behind)) {
		if behind[n] {
			require.NotZero(t, w.after[n], "node %s (behind %s) ran no job after its gateway was lost", n, victim)
		}
	}
}
