//go:build unix

package runner

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// jobOfCommandLen returns a job whose command, as RemoteCommand wraps it,
// is exactly n bytes long.
func jobOfCommandLen(t *testing.T, n int) string {
	t.Helper()
	job := "echo ok #"
	pad := n - len(RemoteCommand(job, 1))
	require.Positive(t, pad)
	job += strings.Repeat("x", pad)
	require.Len(t, RemoteCommand(job, 1), n)
	return job
}

// TestLocalUnstartableJobs: a job with a NUL byte, or one whose command is
// longer than a shell accepts, fails as ErrJobUnstartable; the longest one
// that fits runs.
func TestLocalUnstartableJobs(t *testing.T) {
	l := &Local{Grace: time.Second}
	var out bytes.Buffer
	for _, job := range []string{"echo a\x00b", "\x00", jobOfCommandLen(t, MaxCommand+1), strings.Repeat("x", 1<<20)} {
		err := l.Run(context.Background(), job, &out, &out)
		require.ErrorIs(t, err, ErrJobUnstartable, "job of %d bytes", len(job))
		var ue *UnstartableError
		require.ErrorAs(t, err, &ue)
	}
	require.Empty(t, out.String())
	require.NoError(t, l.Run(context.Background(), jobOfCommandLen(t, MaxCommand), &out, &out))
	require.Equal(t, "ok\n", out.String())
}

// TestUnstartableJobFailsAloneNodeStays: through the pool, an unstartable
// job fails for good at once with its reason, the node is not evicted,
// and the other jobs run on it.
func TestUnstartableJobFailsAloneNodeStays(t *testing.T) {
	var rec recorder
	src := jobs.Concat(&jobs.Strings{Cmds: []string{"true", "echo a\x00b", "true", strings.Repeat(": ", 100<<10), "true"}})
	ns := []Node{{Name: ":", Slots: 1, Connect: func(context.Context) (Host, error) { return &Local{Grace: time.Second}, nil }}}
	rep := Run(context.Background(), Config{Nodes: ns, Jobs: src, Events: rec.add})
	require.Empty(t, rep.Evicted)
	require.Equal(t, 3, rep.Succeeded)
	require.Len(t, rep.Failed, 2)
	for _, f := range rep.Failed {
		require.Len(t, f.Attempts, 1)
		require.ErrorIs(t, f.Attempts[0].Err, ErrJobUnstartable)
		require.Equal(t, "no node can start it", f.Reason)
	}
	require.Zero(t, rec.count(NodeEvicted))
}

// TestSSHUnstartableJobs: over SSH the job never reaches the node, and the
// connection and its other jobs carry on.
func TestSSHUnstartableJobs(t *testing.T) {
	ts := sshtest.New(t, sshtest.Options{})
	h := hostOn(t, ts, SSHOptions{Grace: time.Second})
	// Separate buffers: x/crypto/ssh copies stdout and stderr at once.
	var out, errOut bytes.Buffer
	require.ErrorIs(t, h.Run(context.Background(), "echo a\x00b", &out, &errOut), ErrJobUnstartable)
	require.ErrorIs(t, h.Run(context.Background(), strings.Repeat("x", MaxCommand), &out, &errOut), ErrJobUnstartable)
	require.Zero(t, ts.Commands.Load())
	require.NoError(t, h.Run(context.Background(), "echo ok", &out, &errOut))
	require.Equal(t, "ok\n", out.String())
	require.Empty(t, errOut.String())
}

// TestRealSSHNulJobKeepsConnection: OpenSSH drops a connection whose exec
// request holds a NUL byte; drove never sends one, so a job running on
// the same connection finishes and the connection stays.
func TestRealSSHNulJobKeepsConnection(t *testing.T) {
	testkit.Slow(t)
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	dial := func(ctx context.Context) (*ssh.Client, error) { return c.Dial(ctx, 0) }
	h, err := NewSSH(context.Background(), "node1", dial, SSHOptions{Grace: time.Second})
	require.NoError(t, err)
	defer h.Close()
	var wg sync.WaitGroup
	var so bytes.Buffer
	var longErr error
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		w := &signalWriter{w: &so, first: started}
		longErr = h.Run(context.Background(), "echo started; sleep 0.5; echo finished", w, &bytes.Buffer{})
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first job did not start")
	}
	require.ErrorIs(t, h.Run(context.Background(), "echo a\x00b", &bytes.Buffer{}, &bytes.Buffer{}), ErrJobUnstartable)
	wg.Wait()
	require.NoError(t, longErr)
	require.Equal(t, "started\nfinished\n", so.String())
	require.Equal(t, 1, h.Conns())
}

// signalWriter closes first on its first write.
type signalWriter struct {
	mu    sync.Mutex
	w     *bytes.Buffer
	first chan struct{}
	once  sync.Once
}

func (s *signalWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.once.Do(func() { close(s.first) })
	return s.w.Write(p)
}
