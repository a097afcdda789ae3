package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
)

// nodeKind is how a node of a blame run behaves.
type nodeKind int

const (
	healthyNode nodeKind = iota // runs every job but the poison ones
	brokenNode                  // fails every job (exit 1)
	lostNode                    // loses its connection under every job
)

// faultyFleet runs the jobs of a blame run and counts what succeeded.
type faultyFleet struct {
	mu        sync.Mutex
	succeeded map[string]int
}

func (f *faultyFleet) run(kind nodeKind, node, cmd string) error {
	switch {
	case kind == lostNode:
		return &NodeError{Node: node, Err: errors.New("connection lost")}
	case kind == brokenNode:
		return &ExitError{Status: 1}
	case strings.HasPrefix(cmd, "poison"):
		return &ExitError{Status: 3}
	}
	f.mu.Lock()
	f.succeeded[cmd]++
	f.mu.Unlock()
	return nil
}

// TestBlameProperties runs the scheduler under --on-failure evict with
// random fleets of healthy nodes, truly broken ones (every job fails
// there), lost ones (every connection drops) and k poison jobs (they fail
// everywhere), with MaxAttempts above the number of broken and lost nodes,
// and checks: every job is accounted for exactly once; while one healthy
// node exists, every other job succeeds exactly once and every poison job
// fails, no healthy node is out at the end (a poison job is at fault, not
// the nodes it evicted), no lost node is ever readmitted, and no job
// fails twice on one node. DROVE_SEED and DROVE_PROPERTY_RUNS as for
// TestSchedulerProperties; DROVE_DEBUG=1 logs every event of each run.
func TestBlameProperties(t *testing.T) {
	seed := propertySeed(t)
	runs := 300
	if testing.Short() {
		runs = 50
	}
	if s := os.Getenv("DROVE_PROPERTY_RUNS"); s != "" {
		var err error
		runs, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	t.Logf("seed %d (DROVE_SEED=%d replays it), %d runs", seed, seed, runs)
	for i := range runs {
		if !blameRun(t, seed+uint64(i)) {
			t.Fatalf("run %d failed: DROVE_SEED=%d DROVE_PROPERTY_RUNS=1 replays it", i, seed+uint64(i))
		}
	}
}

// blameRun is one random run; it reports whether every property held.
func blameRun(t *testing.T, seed uint64) bool {
	r := rand.New(rand.NewPCG(seed, 21))
	var fleet []nodeKind
	for range r.IntN(4) {
		fleet = append(fleet, healthyNode)
	}
	broken, lost := r.IntN(4), r.IntN(3)
	for range broken {
		fleet = append(fleet, brokenNode)
	}
	for range lost {
		fleet = append(fleet, lostNode)
	}
	if len(fleet) == 0 {
		fleet = append(fleet, healthyNode)
	}
	r.Shuffle(len(fleet), func(i, j int) { fleet[i], fleet[j] = fleet[j], fleet[i] })
	healthy := slices.Contains(fleet, healthyNode)

	f := &faultyFleet{succeeded: map[string]int{}}
	kindOf := map[string]nodeKind{}
	var ns []Node
	for i, k := range fleet {
		name := fmt.Sprintf("n%d", i+1)
		kindOf[name] = k
		ns = append(ns, Node{Name: name, Slots: 1 + r.IntN(3), Connect: func(context.Context) (Host, error) {
			return &fakeHost{name: name, fn: func(ctx context.Context, node, cmd string, _ io.Writer) error { return f.run(k, node, cmd) }}, nil
		}})
	}
	njobs := r.IntN(40)
	poison := map[string]bool{}
	cmds := make([]string, njobs)
	for i := range cmds {
		cmds[i] = fmt.Sprintf("job %d", i)
	}
	for range min(r.IntN(5), njobs) {
		i := r.IntN(njobs)
		cmds[i] = fmt.Sprintf("poison %d", i)
		poison[cmds[i]] = true
	}
	cfg := Config{
		Nodes: ns, Jobs: jobs.Concat(&jobs.Strings{Cmds: cmds}), FiniteJobs: true,
		OnFailure: Evict, MaxAttempts: broken + lost + 1 + r.IntN(3), MaxSlots: r.IntN(4),
	}
	var rec recorder
	cfg.Events = rec.add
	repc := make(chan *Report, 1)
	go func() { repc <- Run(context.Background(), cfg) }()
	var rep *Report
	select {
	case rep = <-repc:
	case <-time.After(time.Minute):
		t.Fatalf("seed %d: the run never ended (kinds %v, %d jobs, %d poison, %+v)", seed, fleet, njobs, len(poison), cfg)
	}

	if os.Getenv("DROVE_DEBUG") != "" {
		for _, e := range rec.evs {
			t.Logf("%v node=%s job=%q req=%v err=%v reason=%s", e.Kind, e.Node, e.Job.Cmd, e.Requeued, e.Err, e.Reason)
		}
	}
	ok := true
	fail := func(format string, args ...any) {
		ok = false
		t.Errorf("seed %d (kinds %v, MaxAttempts %d, MaxSlots %d, %d jobs, %d poison): "+format,
			append([]any{seed, fleet, cfg.MaxAttempts, cfg.MaxSlots, njobs, len(poison)}, args...)...)
	}

	// Every job ends once, and the Report agrees.
	fin := finals(rec.evs)
	succeeded, failed, never := 0, 0, 0
	for seq := 1; seq <= njobs; seq++ {
		evs := fin[seq]
		if len(evs) != 1 {
			fail("job %d has %d final events: %v", seq, len(evs), kinds(evs))
			continue
		}
		e := evs[0]
		switch e.Kind {
		case JobSucceeded:
			succeeded++
		case JobNeverRan:
			never++
		default:
			failed++
		}
		if !healthy {
			continue
		}
		if poison[e.Job.Cmd] && e.Kind != JobFailed && e.Kind != JobAbandoned {
			fail("poison job %d ended with %v, want a failure", seq, e.Kind)
		}
		if !poison[e.Job.Cmd] && e.Kind != JobSucceeded {
			fail("job %d ended with %v (%s), want success: a healthy node was there", seq, e.Kind, e.Reason)
		}
	}
	if succeeded != rep.Succeeded || failed != len(rep.Failed) || never != len(rep.Unrun) || rep.Unread {
		fail("events say %d succeeded, %d failed, %d never ran; the Report %d, %d, %d (unread %v)",
			succeeded, failed, never, rep.Succeeded, len(rep.Failed), len(rep.Unrun), rep.Unread)
	}
	f.mu.Lock()
	for c, n := range f.succeeded {
		if n != 1 {
			fail("%q succeeded %d times", c, n)
		}
	}
	f.mu.Unlock()

	// No job fails twice on a node; lost nodes never come back; healthy
	// nodes end in the pool.
	failedOn := map[string]bool{}
	out := map[string]bool{}
	for _, e := range rec.evs {
		switch e.Kind {
		case JobFailed:
			if _, own := e.Err.(*ExitError); own {
				key := e.Job.Cmd + "@" + e.Node
				if failedOn[key] {
					fail("%q failed twice on %s", e.Job.Cmd, e.Node)
				}
				failedOn[key] = true
			}
		case NodeEvicted:
			out[e.Node] = true
		case NodeReadmitted:
			out[e.Node] = false
			if kindOf[e.Node] == lostNode {
				fail("lost node %s readmitted (%s)", e.Node, e.Reason)
			}
		}
	}
	for _, ev := range rep.Evicted {
		if !out[ev.Node] {
			fail("the Report lists %s as evicted, the events say it is back", ev.Node)
		}
	}
	if healthy {
		for name, k := range kindOf {
			if k == healthyNode && out[name] {
				fail("healthy node %s is still evicted at the end", name)
			}
		}
	}
	return ok
}

// TestReadmittedForJobAtFaultKeepsSlotCount: a node whose slot count
// shrank while it was out awaiting a verdict comes back with the new count
// of tokens, not the old.
func TestReadmittedForJobAtFaultKeepsSlotCount(t *testing.T) {
	p := &pool{cfg: Config{MaxAttempts: 3}}
	n := &node{Node: Node{Name: "n1", Slots: 3}}
	p.join(n, &fakeHost{name: "n1"}, NodeUp)
	js := &jobState{tried: map[*node]bool{n: true}}
	p.suspect(n, js)
	n.state = nodeGone
	p.resize(n, 1)
	require.True(t, p.awaiting(n))
	p.judge(js, true, failedOnNodes)
	require.Equal(t, nodeUp, n.state)
	require.Len(t, p.tokens, 1)
	require.Equal(t, []int{0}, n.free)
}
