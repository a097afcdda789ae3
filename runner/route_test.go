package runner

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRouteErrorKeepsTheNode: a job whose route failed (a lost gateway) is
// requeued, and its node stays in the pool to run it through its next
// route, without an eviction or --readmit-after; with one node only, the
// run still succeeds.
func TestRouteErrorKeepsTheNode(t *testing.T) {
	var routeLost atomic.Bool
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if cmd == "j1" && routeLost.CompareAndSwap(false, true) {
			return &NodeError{Node: node, Err: &RouteError{Err: errors.New("gateway gw1 lost: its session ended")}}
		}
		return nil
	}
	rec := &recorder{}
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1}, fn), Jobs: cmds(3, "j%d"), MaxAttempts: 3, Events: rec.add})
	require.True(t, rep.OK(), "%+v", rep)
	require.Equal(t, 3, rep.Succeeded)
	require.Empty(t, rep.Evicted)
	require.Zero(t, rec.count(NodeEvicted))
	var requeued []Event
	for _, e := range rec.evs {
		if e.Kind == JobFailed {
			requeued = append(requeued, e)
		}
	}
	require.Len(t, requeued, 1)
	require.True(t, requeued[0].Requeued)
	require.False(t, requeued[0].Evicted)
	require.ErrorContains(t, requeued[0].Err, "gateway gw1 lost")
}

// TestRouteErrorsCountAsAttempts: a job whose every attempt loses its
// route (a job that kills its gateway) fails after MaxAttempts, as any
// job whose node failed under it: rerouting does not lift the cap.
func TestRouteErrorsCountAsAttempts(t *testing.T) {
	var runs atomic.Int32
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if cmd == "j0" {
			runs.Add(1)
			return &NodeError{Node: node, Err: &RouteError{Err: errors.New("gateway lost")}}
		}
		return nil
	}
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1, 1}, fn), Jobs: cmds(4, "j%d"), MaxAttempts: 3})
	require.Equal(t, 3, rep.Succeeded)
	require.Len(t, rep.Failed, 1)
	require.Equal(t, "j0", rep.Failed[0].Job.Cmd)
	require.Len(t, rep.Failed[0].Attempts, 3)
	require.Equal(t, int32(3), runs.Load())
	require.Empty(t, rep.Evicted)
}

// TestRouteErrorRerunsEachNodeJob: an --on-each-node job whose route
// failed runs again on its own node (through its next route), up to
// MaxAttempts.
func TestRouteErrorRerunsEachNodeJob(t *testing.T) {
	var lost atomic.Int32
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if node == "n1" && lost.Add(1) <= 1 {
			return &NodeError{Node: node, Err: &RouteError{Err: errors.New("gateway gw1 lost")}}
		}
		if node == "n2" {
			return &NodeError{Node: node, Err: &RouteError{Err: errors.New("gateway gw2 lost")}}
		}
		return nil
	}
	rec := &recorder{}
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1, 1}, fn), EachNode: "hostname", MaxAttempts: 3, Events: rec.add})
	require.Equal(t, 1, rep.Succeeded, "%+v", rep)
	require.Len(t, rep.Failed, 1)
	require.Equal(t, "n2", rep.Failed[0].Attempts[0].Node)
	require.Len(t, rep.Failed[0].Attempts, 3, "n2's job tried up to MaxAttempts")
	require.Equal(t, 4, rec.count(JobFailed), "n1 once, n2 three times")
}
