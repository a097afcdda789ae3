package runner

import (
	"context"
	"io"
	"testing"

	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
)

// TestSecondInterruptCountsAFiniteStream: after a drain and then a cancel
// (two SIGTERMs), a finite job stream (a regular file) is still read to
// its end, so the report gives the exact total and lists every job that
// never ran, instead of "3+ jobs ... the rest was not read" (issue 20.9).
func TestSecondInterruptCountsAFiniteStream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	drain := make(chan struct{})
	fn := func(jctx context.Context, node, cmd string, _ io.Writer) error {
		close(drain)
		<-jctx.Done()
		return jctx.Err()
	}
	events := func(e Event) {
		if e.Kind == Draining {
			cancel()
		}
	}
	src := jobs.Concat(&jobs.Strings{Cmds: []string{"j1", "j2", "j3"}})
	rep := Run(ctx, Config{Nodes: fakeNodes([]int{1}, fn), Jobs: src, FiniteJobs: true, Drain: drain, Events: events})
	require.True(t, rep.Interrupted)
	require.False(t, rep.Unread, "a finite stream is read to its end")
	require.True(t, rep.Stats.TotalKnown)
	require.Equal(t, 3, rep.Stats.Total)
	require.Len(t, rep.Failed, 1)
	require.ErrorIs(t, rep.Failed[0].Attempts[0].Err, ErrKilled)
	require.Len(t, rep.Unrun, 2)
}
