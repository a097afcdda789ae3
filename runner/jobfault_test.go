package runner

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
)

// flakyRun fails the job "flaky" its first fails times (exit 20, which the
// tests' JobFault calls the job's own), records on which node each attempt
// of it ran, and runs every other job.
type flakyRun struct {
	mu    sync.Mutex
	fails int
	on    []string
}

func (f *flakyRun) run(_ context.Context, node, cmd string, _ io.Writer) error {
	if cmd != "flaky" {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.on = append(f.on, node)
	if len(f.on) <= f.fails {
		return &ExitError{Status: 20}
	}
	return nil
}

func ownFault(ev Event) bool {
	ee, ok := ev.Err.(*ExitError)
	return ok && ee.Status == 20
}

func flakyJobs(n int) jobs.Source {
	c := []string{"flaky"}
	for i := range n {
		c = append(c, fmt.Sprintf("job %d", i))
	}
	return &jobs.Strings{Cmds: c}
}

// TestJobFaultKeepsTheOnlyNode: a job whose failure JobFault calls its own
// leaves its node, the only one, in the pool under Evict and Retry: every
// other job runs there, and the job runs there again, up to MaxAttempts.
func TestJobFaultKeepsTheOnlyNode(t *testing.T) {
	for _, mode := range []OnFailure{Evict, Retry} {
		for _, fails := range []int{1, 5} {
			t.Run(fmt.Sprintf("%v/fails=%d", mode, fails), func(t *testing.T) {
				f := &flakyRun{fails: fails}
				var rec recorder
				rep := Run(context.Background(), Config{
					Nodes: fakeNodes([]int{2}, f.run), Jobs: flakyJobs(20), FiniteJobs: true,
					OnFailure: mode, MaxAttempts: 3, JobFault: ownFault, Events: rec.add,
				})
				require.Zero(t, rec.count(NodeEvicted))
				require.Empty(t, rep.Evicted)
				require.Empty(t, rep.Unrun)
				if fails == 1 {
					require.True(t, rep.OK(), "%+v", rep.Failed)
					require.Equal(t, 21, rep.Succeeded)
					require.Equal(t, []string{"n1", "n1"}, f.on)
					return
				}
				require.Equal(t, 20, rep.Succeeded)
				require.Len(t, rep.Failed, 1)
				require.Equal(t, "flaky", rep.Failed[0].Job.Cmd)
				require.Len(t, rep.Failed[0].Attempts, 3)
				require.Equal(t, []string{"n1", "n1", "n1"}, f.on)
			})
		}
	}
}

// TestJobFaultPrefersAnotherNode: a job that failed by its own fault on
// one node goes to another node it has not failed on when there is one,
// and neither node is evicted.
func TestJobFaultPrefersAnotherNode(t *testing.T) {
	f := &flakyRun{fails: 2}
	var rec recorder
	rep := Run(context.Background(), Config{
		Nodes: fakeNodes([]int{1, 1}, f.run), Jobs: flakyJobs(10), FiniteJobs: true,
		OnFailure: Evict, MaxAttempts: 3, JobFault: ownFault, Events: rec.add,
	})
	require.True(t, rep.OK(), "%+v", rep.Failed)
	require.Zero(t, rec.count(NodeEvicted))
	require.Len(t, f.on, 3)
	require.NotEqual(t, f.on[0], f.on[1], "the second attempt went to the node it had failed on")
}

// TestJobFaultNotAskedUnderKeep: under Keep a failed job fails, whatever
// JobFault would say.
func TestJobFaultNotAskedUnderKeep(t *testing.T) {
	f := &flakyRun{fails: 1}
	asked := 0
	rep := Run(context.Background(), Config{
		Nodes: fakeNodes([]int{1}, f.run), Jobs: flakyJobs(3), FiniteJobs: true,
		OnFailure: Keep, MaxAttempts: 3, JobFault: func(ev Event) bool { asked++; return ownFault(ev) },
	})
	require.Zero(t, asked)
	require.Len(t, rep.Failed, 1)
	require.Equal(t, 3, rep.Succeeded)
}

// TestJobFaultEndsWithoutAttemptCap: with MaxAttempts 0 (no cap: clstr's
// way, where eviction ends a bad job's tries), a job whose failures are its
// own keeps its node, so nothing would end its tries: it fails after
// FaultAttempts. Before, a partition that always failed on the only ':'
// node was retried there forever and the sync never ended.
func TestJobFaultEndsWithoutAttemptCap(t *testing.T) {
	f := &flakyRun{fails: 1 << 30}
	rep := Run(context.Background(), Config{
		Nodes: fakeNodes([]int{1}, f.run), Jobs: flakyJobs(3), FiniteJobs: true,
		OnFailure: Evict, JobFault: ownFault,
	})
	require.Equal(t, 3, rep.Succeeded)
	require.Len(t, rep.Failed, 1)
	require.Len(t, rep.Failed[0].Attempts, FaultAttempts)
	require.Empty(t, rep.Evicted)
}
