package runner

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNodeUpdateAnnouncesSlotChange: a re-read node list that changes a
// node's slot count says so with a NodeResized event giving the new and
// the previous count, as the README promises ("each change is a line on
// stderr"); an unchanged count says nothing (issue 20.9).
func TestNodeUpdateAnnouncesSlotChange(t *testing.T) {
	resized := make(chan struct{})
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if cmd != "j0" {
			return nil
		}
		select { // the first job runs until the change is announced
		case <-resized:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("no NodeResized event within 10s")
		}
	}
	ns := fakeNodes([]int{1}, fn)
	updates := make(chan []Node, 2)
	var rec recorder
	var once sync.Once
	var got Event
	events := func(e Event) {
		rec.add(e)
		if e.Kind == JobStarted {
			once.Do(func() {
				same := ns[0]
				updates <- []Node{same} // no change: no event
				bigger := ns[0]
				bigger.Slots = 3
				updates <- []Node{bigger}
			})
		}
		if e.Kind == NodeResized {
			got = e
			close(resized)
		}
	}
	rep := Run(context.Background(), Config{Nodes: ns, Jobs: cmds(3, "j%d"), NodeUpdates: updates, Events: events})
	require.True(t, rep.OK(), "%+v", rep)
	require.Equal(t, 1, rec.count(NodeResized))
	require.Equal(t, "n1", got.Node)
	require.Equal(t, 3, got.Slots)
	require.Equal(t, 1, got.PrevSlots)
}
