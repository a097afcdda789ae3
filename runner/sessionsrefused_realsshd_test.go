//go:build slow && unix

package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestRealSSHNodeRefusingEverySessionIsEvicted: a node whose sshd allows
// no session (MaxSessions 0) logs in fine but refuses every job. With no
// session open on its fresh connection the refusal cannot be sessions
// still closing: the node is evicted as refusing sessions (it held the job
// for 64 tries, 43 s, and then gave a bare "sessions refused"), and the
// job runs on the other node.
func TestRealSSHNodeRefusingEverySessionIsEvicted(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2, NodeConfig: func(i int) []string {
		if i == 0 {
			return []string{"MaxSessions 0"}
		}
		return nil
	}})
	evicted := make(chan struct{})
	var once sync.Once
	var ns []Node
	for i, name := range []string{"node1", "node2"} {
		ns = append(ns, Node{Name: name, Slots: 1, Connect: func(ctx context.Context) (Host, error) {
			if i == 1 {
				// The job must meet node1 first: node2 joins once it is out.
				select {
				case <-evicted:
				case <-time.After(time.Minute):
					return nil, errors.New("node1 was never evicted")
				}
			}
			h, err := NewSSH(ctx, name, func(ctx context.Context) (*ssh.Client, error) { return c.Dial(ctx, i) }, SSHOptions{Grace: time.Second})
			if err != nil {
				return nil, err
			}
			return h, nil
		}})
	}
	var rec recorder
	rep := Run(context.Background(), Config{
		Nodes: ns, Jobs: jobs.Concat(&jobs.Strings{Cmds: []string{"echo first", "echo second"}}),
		MaxAttempts: 3,
		Events: func(e Event) {
			rec.add(e)
			if e.Kind == NodeEvicted && e.Node == "node1" {
				once.Do(func() { close(evicted) })
			}
		},
	})
	require.True(t, rep.OK(), "%+v", rep)
	require.Equal(t, 2, rep.Succeeded)
	require.Len(t, rep.Evicted, 1)
	require.Equal(t, "node1", rep.Evicted[0].Node)
	var sr *SessionsRefusedError
	require.ErrorAs(t, rep.Evicted[0].Err, &sr, "the eviction names the reason: %v", rep.Evicted[0].Err)
	require.Contains(t, rep.Evicted[0].Err.Error(), "MaxSessions 0")
	var failed, succeeded []string
	for _, e := range rec.evs {
		switch e.Kind {
		case JobFailed:
			require.True(t, e.Requeued, "the job goes back to the queue")
			failed = append(failed, fmt.Sprintf("%d@%s", e.Job.Seq, e.Node))
		case JobSucceeded:
			succeeded = append(succeeded, fmt.Sprintf("%d@%s", e.Job.Seq, e.Node))
		}
	}
	require.Equal(t, []string{"1@node1"}, failed)
	require.ElementsMatch(t, []string{"1@node2", "2@node2"}, succeeded)
	require.Contains(t, c.Log(0), "no more sessions", "node1's sshd refused the sessions")
}
