//go:build slow && unix

package runner

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestRealSSHPreopenedSessions: on a real OpenSSH node (MaxSessions 10 by
// default), four slots running jobs back to back take pre-opened
// sessions, every job gives its own output, and once the host is closed
// no process of the jobs is left on the node.
func TestRealSSHPreopenedSessions(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	h, err := NewSSH(context.Background(), "node1", func(ctx context.Context) (*ssh.Client, error) { return c.Dial(ctx, 0) }, SSHOptions{Grace: time.Second})
	require.NoError(t, err)
	defer h.Close()
	m := fmt.Sprintf("drovespare%d", time.Now().UnixNano())
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for s := range 4 {
		wg.Go(func() {
			for i := range 10 {
				want := fmt.Sprintf("%d-%d", s, i)
				out, _, err := runOn(t, h, "echo "+want+"; : "+m)
				switch {
				case err != nil:
					errs <- err
				case out != want+"\n":
					errs <- fmt.Errorf("job %s printed %q", want, out)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	hits, _ := spareStats(h)
	require.Positive(t, hits, "no job took a pre-opened session")
	require.NoError(t, h.Close())
	c.WaitNoProcs(t, m, 20*time.Second)
}
