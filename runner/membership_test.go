package runner

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
)

// gatedSource yields n jobs; job k (1-based) is only handed out after
// gate(k) is closed, if gate returns a channel.
type gatedSource struct {
	mu   sync.Mutex
	i, n int
	gate func(k int) <-chan struct{}
}

func (g *gatedSource) Next() (jobs.Job, error) {
	g.mu.Lock()
	g.i++
	k := g.i
	g.mu.Unlock()
	if k > g.n {
		return jobs.Job{}, io.EOF
	}
	if c := g.gate(k); c != nil {
		<-c
	}
	return jobs.Job{Seq: k, Cmd: "job"}, nil
}

// TestNodeUpdatesJoinAndLeave: a node added to the list joins and takes
// jobs; a node removed finishes its running job and takes no more.
func TestNodeUpdatesJoinAndLeave(t *testing.T) {
	var mu sync.Mutex
	ranOn := map[string]int{}
	release := make(chan struct{})
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		mu.Lock()
		ranOn[node]++
		first := node == "n1" && ranOn[node] == 1
		mu.Unlock()
		if first {
			<-release // n1's first job runs until the update has been applied
		}
		return nil
	}
	all := fakeNodes([]int{1, 1}, fn) // n1, n2
	updates := make(chan []Node, 1)
	var rec recorder
	joined := make(chan struct{})
	events := func(e Event) {
		rec.add(e)
		if e.Kind == JobStarted && e.Node == "n1" {
			updates <- []Node{all[1]} // n1 removed, n2 added, while n1 runs
		}
		if e.Kind == NodeJoined {
			close(joined)
		}
		if e.Kind == NodeLeaving {
			close(release)
		}
	}
	// Jobs 2.. wait until n2 has joined, so n2 must run them.
	src := &gatedSource{n: 6, gate: func(k int) <-chan struct{} {
		if k == 1 {
			return nil
		}
		return joined
	}}
	rep := Run(context.Background(), Config{Nodes: all[:1], Jobs: src, NodeUpdates: updates, Events: events})
	require.True(t, rep.OK(), "%+v", rep)
	require.Equal(t, 6, rep.Succeeded)
	require.Equal(t, 1, ranOn["n1"], "a removed node takes no new job")
	require.Equal(t, 5, ranOn["n2"])
	require.Equal(t, 1, rec.count(NodeLeft))
}

// TestReadmitAfterProbe: an evicted node whose probe passes comes back and
// runs jobs again.
func TestReadmitAfterProbe(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	var mu sync.Mutex
	ran := 0
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if cmd == "true" { // the probe
			return nil
		}
		if broken.CompareAndSwap(true, false) {
			return &NodeError{Node: node, Err: errors.New("connection lost")}
		}
		mu.Lock()
		ran++
		mu.Unlock()
		return nil
	}
	var rec recorder
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1}, fn), Jobs: cmds(3, "j%d"),
		ReadmitAfter: 10 * time.Millisecond, MaxAttempts: 3, Events: rec.add})
	require.True(t, rep.OK(), "%+v", rep)
	require.Equal(t, 3, ran)
	require.Equal(t, 1, rec.count(NodeEvicted))
	require.Equal(t, 1, rec.count(NodeReadmitted))
}

// TestReadmitGivesUpAfterFailedProbes: a node that keeps failing its probe
// stays out, and the run ends listing what never ran.
func TestReadmitGivesUpAfterFailedProbes(t *testing.T) {
	var connects atomic.Int32
	ns := []Node{{Name: "flaky", Slots: 1, Connect: func(context.Context) (Host, error) {
		if connects.Add(1) == 1 {
			return &fakeHost{name: "flaky", fn: func(ctx context.Context, node, cmd string, _ io.Writer) error {
				return &NodeError{Node: node, Err: errors.New("connection lost")}
			}}, nil
		}
		return nil, errors.New("connection refused")
	}}}
	var rec recorder
	rep := Run(context.Background(), Config{Nodes: ns, Jobs: cmds(2, "j%d"), ReadmitAfter: time.Millisecond, MaxReadmits: 2, Events: rec.add})
	require.Equal(t, 2, rec.count(NodeProbeFailed))
	require.Zero(t, rec.count(NodeReadmitted))
	require.Equal(t, int32(3), connects.Load())
	require.Len(t, rep.Failed, 1)
	require.Len(t, rep.Unrun, 1)
}

// TestReadmittedNodeHasOneTokenPerSlot: tokens a node left in the queue
// when it was evicted do not add to the new ones when it is readmitted
// (they would let more jobs start than it has slots).
func TestReadmittedNodeHasOneTokenPerSlot(t *testing.T) {
	p := &pool{}
	n := &node{Node: Node{Name: "n1", Slots: 3}}
	host := &fakeHost{name: "n1"}
	p.join(n, host, NodeUp)
	require.Len(t, p.tokens, 3)
	// Evicted with its free slots still queued, then readmitted.
	n.state = nodeProbing
	p.join(n, host, NodeReadmitted)
	require.Len(t, p.tokens, 3)
	require.Len(t, n.free, 3)
}
