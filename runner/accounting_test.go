package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
)

// finals maps each job's Seq to its final events (see the contract in
// event.go).
func finals(evs []Event) map[int][]Event {
	m := map[int][]Event{}
	for _, e := range evs {
		if isFinal(e) {
			m[e.Job.Seq] = append(m[e.Job.Seq], e)
		}
	}
	return m
}

func isFinal(e Event) bool {
	switch e.Kind {
	case JobSucceeded, JobAbandoned, JobNeverRan:
		return true
	case JobFailed:
		return !e.Requeued
	}
	return false
}

// TestFailedForGoodAfterRequeueHasFinalEvent: under the default
// --on-failure evict a job that failed, was requeued and then found no
// node left was failed in the Report but had no event saying so, so the
// job log never recorded it. It now ends with JobAbandoned, and the jobs
// that never ran with JobNeverRan.
func TestFailedForGoodAfterRequeueHasFinalEvent(t *testing.T) {
	var rec recorder
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if cmd == "poison" {
			return &ExitError{Status: 1}
		}
		return nil
	}
	src := jobs.Concat(&jobs.Strings{Cmds: []string{"poison", "x", "y"}})
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1, 1}, fn), Jobs: src, MaxSlots: 1, Events: rec.add})
	require.Len(t, rep.Failed, 1)
	f := finals(rec.evs)
	require.Len(t, f, 3, "every job has a final event")
	require.Len(t, f[1], 1)
	ab := f[1][0]
	require.Equal(t, JobAbandoned, ab.Kind)
	require.Equal(t, "poison", ab.Job.Cmd)
	require.Equal(t, 2, ab.Attempt)
	require.Equal(t, &ExitError{Status: 1}, ab.Err)
	require.Equal(t, rep.Failed[0].Attempts[1].Node, ab.Node)
	require.Equal(t, rep.Failed[0].Attempts[1].Start, ab.Start)
	require.Equal(t, rep.Failed[0].Attempts[1].Duration, ab.Duration)
	require.Equal(t, "no node it has not failed on is left", ab.Reason)
	for _, seq := range []int{2, 3} {
		require.Len(t, f[seq], 1)
		require.Equal(t, JobNeverRan, f[seq][0].Kind)
	}
}

// propertySeed is DROVE_SEED if set, else the time.
func propertySeed(t *testing.T) uint64 {
	if s := os.Getenv("DROVE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		return n
	}
	return uint64(time.Now().UnixNano())
}

// chaos is a fleet of fake nodes that fail jobs, die and refuse at random.
type chaos struct {
	mu        sync.Mutex
	r         *rand.Rand
	running   int
	peak      int
	uses      map[string]int
	dead      map[string]bool
	succeeded map[string]bool
	violation []string
	failP     int // percent of attempts that exit non-zero
	lossP     int // percent of attempts whose node dies
	cancelAt  int // cancel the run when this many attempts started (0 = never)
	started   int
	cancel    context.CancelFunc
}

func (c *chaos) run(ctx context.Context, node, cmd string) error {
	c.mu.Lock()
	c.running++
	c.peak = max(c.peak, c.running)
	c.uses[node]++
	c.started++
	if c.succeeded[cmd] {
		c.violation = append(c.violation, fmt.Sprintf("%q ran again on %s after it succeeded", cmd, node))
	}
	if c.cancelAt > 0 && c.started == c.cancelAt {
		c.cancel()
	}
	var err error
	roll := c.r.IntN(100)
	switch {
	case c.dead[node]:
		err = &NodeError{Node: node, Err: errors.New("connection lost")}
	case roll < c.lossP:
		c.dead[node] = true
		err = &NodeError{Node: node, Err: errors.New("connection lost")}
	case roll < c.lossP+c.failP:
		err = &ExitError{Status: 1 + c.r.IntN(3)}
	case ctx.Err() != nil:
		err = ctx.Err()
	default:
		c.succeeded[cmd] = true
	}
	c.running--
	c.mu.Unlock()
	return err
}

// TestSchedulerProperties runs the scheduler many times with random job
// failures, node losses and refusals, requeues, --on-failure, --max-attempts,
// -u (MaxNodeUses), -m (MaxSlots) and interrupts, and checks: every job
// read ends exactly once, as succeeded, failed or never run, matching the
// Report; no job that succeeded runs again; no more than MaxSlots run at
// once; no node runs more than MaxNodeUses jobs; no job has more than
// MaxAttempts attempts. DROVE_SEED replays a run; DROVE_PROPERTY_RUNS sets
// how many runs (default 150, 30 with -short).
func TestSchedulerProperties(t *testing.T) {
	seed := propertySeed(t)
	runs := 150
	if testing.Short() {
		runs = 30
	}
	if s := os.Getenv("DROVE_PROPERTY_RUNS"); s != "" {
		var err error
		runs, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	t.Logf("seed %d (DROVE_SEED=%d replays it), %d runs", seed, seed, runs)
	for i := range runs {
		if !schedulerRun(t, seed+uint64(i)) {
			t.Fatalf("run %d failed: DROVE_SEED=%d DROVE_PROPERTY_RUNS=1 replays it", i, seed+uint64(i))
		}
	}
}

// schedulerRun is one random run; it reports whether every property held.
func schedulerRun(t *testing.T, seed uint64) bool {
	r := rand.New(rand.NewPCG(seed, 11))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &chaos{
		r: rand.New(rand.NewPCG(seed, 12)), uses: map[string]int{}, dead: map[string]bool{}, succeeded: map[string]bool{},
		failP: r.IntN(50), lossP: r.IntN(15), cancel: cancel,
	}
	njobs := r.IntN(40)
	if r.IntN(6) == 0 {
		c.cancelAt = 1 + r.IntN(njobs+1)
	}
	var ns []Node
	for i := range 1 + r.IntN(5) {
		name := fmt.Sprintf("n%d", i+1)
		refused := r.IntN(8) == 0
		ns = append(ns, Node{Name: name, Slots: 1 + r.IntN(3), Connect: func(context.Context) (Host, error) {
			if refused {
				return nil, errors.New("connection refused")
			}
			return &fakeHost{name: name, fn: func(ctx context.Context, node, cmd string, _ io.Writer) error { return c.run(ctx, node, cmd) }}, nil
		}})
	}
	cmds := make([]string, njobs)
	for i := range cmds {
		cmds[i] = fmt.Sprintf("job %d", i)
	}
	cfg := Config{
		Nodes: ns, Jobs: jobs.Concat(&jobs.Strings{Cmds: cmds}), FiniteJobs: true,
		OnFailure: OnFailure(r.IntN(3)), MaxAttempts: r.IntN(4), MaxSlots: r.IntN(5), MaxNodeUses: r.IntN(6),
	}
	var rec recorder
	cfg.Events = rec.add
	rep := Run(ctx, cfg)

	ok := true
	fail := func(format string, args ...any) {
		ok = false
		t.Errorf("seed %d (%+v): "+format, append([]any{seed, struct {
			OnFailure                                OnFailure
			MaxAttempts, MaxSlots, MaxNodeUses, Jobs int
		}{cfg.OnFailure, cfg.MaxAttempts, cfg.MaxSlots, cfg.MaxNodeUses, njobs}}, args...)...)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.violation {
		fail("%s", v)
	}
	if cfg.MaxSlots > 0 && c.peak > cfg.MaxSlots {
		fail("%d jobs ran at once, MaxSlots %d", c.peak, cfg.MaxSlots)
	}
	for n, u := range c.uses {
		if cfg.MaxNodeUses > 0 && u > cfg.MaxNodeUses {
			fail("node %s ran %d jobs, MaxNodeUses %d", n, u, cfg.MaxNodeUses)
		}
	}

	f := finals(rec.evs)
	var succeeded, failed, never int
	for seq := 1; seq <= njobs; seq++ {
		evs := f[seq]
		if rep.Unread && len(evs) == 0 {
			continue // never read
		}
		if len(evs) != 1 {
			fail("job %d has %d final events: %v", seq, len(evs), kinds(evs))
			continue
		}
		switch evs[0].Kind {
		case JobSucceeded:
			succeeded++
		case JobNeverRan:
			never++
		default:
			failed++
		}
	}
	if len(f) > njobs {
		fail("final events for %d jobs, %d exist", len(f), njobs)
	}
	if succeeded != rep.Succeeded || failed != len(rep.Failed) || never != len(rep.Unrun) {
		fail("events say %d succeeded, %d failed, %d never ran; the Report %d, %d, %d",
			succeeded, failed, never, rep.Succeeded, len(rep.Failed), len(rep.Unrun))
	}
	if !rep.Unread && succeeded+failed+never != njobs {
		fail("%d of %d jobs accounted for", succeeded+failed+never, njobs)
	}

	// Per job, in order: nothing after success or a final failure; a
	// requeue is followed by a start or JobAbandoned; attempts bounded.
	type state struct {
		done, requeued bool
		attempts       int
	}
	st := map[int]*state{}
	for _, e := range rec.evs {
		s := st[e.Job.Seq]
		if s == nil {
			s = &state{}
			st[e.Job.Seq] = s
		}
		switch e.Kind {
		case JobStarted:
			if s.done {
				fail("job %d started after it ended", e.Job.Seq)
			}
			s.requeued = false
			s.attempts++
			if cfg.MaxAttempts > 0 && s.attempts > cfg.MaxAttempts {
				fail("job %d has %d attempts, MaxAttempts %d", e.Job.Seq, s.attempts, cfg.MaxAttempts)
			}
		case JobFailed:
			s.requeued = e.Requeued
			if e.Requeued && cfg.OnFailure == Keep && !errors.As(e.Err, new(*NodeError)) {
				fail("job %d requeued under --on-failure keep after %v", e.Job.Seq, e.Err)
			}
			s.done = !e.Requeued
		case JobSucceeded, JobNeverRan:
			s.done = true
		case JobAbandoned:
			if !s.requeued {
				fail("job %d abandoned without a requeued failure before", e.Job.Seq)
			}
			s.done, s.requeued = true, false
		}
	}
	for seq, s := range st {
		if s.requeued {
			fail("job %d was requeued and then nothing: no start, no JobAbandoned", seq)
		}
	}
	return ok
}

func kinds(evs []Event) []EventKind {
	var ks []EventKind
	for _, e := range evs {
		ks = append(ks, e.Kind)
	}
	return ks
}
