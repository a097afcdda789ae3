//go:build unix

package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// link is one direction of a conversation that can be cut: after cut,
// reads block until the link is closed and writes vanish, as on a network
// that drops every packet (or a peer that is stopped).
type link struct {
	r    *io.PipeReader
	w    *io.PipeWriter
	cut  chan struct{}
	once sync.Once
}

func newLink() *link {
	r, w := io.Pipe()
	return &link{r: r, w: w, cut: make(chan struct{})}
}

func (l *link) Cut() { l.once.Do(func() { close(l.cut) }) }

func (l *link) cutNow() bool {
	select {
	case <-l.cut:
		return true
	default:
		return false
	}
}

// reader is the receiving end: it stops delivering once cut.
func (l *link) reader() io.Reader {
	return readerFunc(func(p []byte) (int, error) {
		n, err := 0, error(nil)
		if !l.cutNow() {
			n, err = l.r.Read(p)
		}
		if l.cutNow() {
			select {} // a cut link delivers nothing, not even its end
		}
		return n, err
	})
}

// writer is the sending end: once cut, what is written is lost.
func (l *link) writer() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		if l.cutNow() {
			return len(p), nil
		}
		return l.w.Write(p)
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// cutPair is a Client and a Serve with a heartbeat, over two links that a
// test can cut. The gateway connects ':' only.
type cutPair struct {
	cl       *Client
	served   chan error
	closes   atomic.Int32
	down, up *link // controller to gateway, gateway to controller
}

func newCutPair(t *testing.T, every time.Duration, misses int) *cutPair {
	t.Helper()
	p := &cutPair{served: make(chan error, 1), down: newLink(), up: newLink()}
	connect := func(ctx context.Context, spec string, route [][]string, opts Options) (runner.Host, error) {
		return closeCounter{Host: &runner.Local{Grace: time.Second}, closes: &p.closes}, nil
	}
	go func() {
		err := Serve(context.Background(), p.down.reader(), p.up.writer(), connect)
		_ = p.up.w.Close()
		p.served <- err
	}()
	cl, err := NewClient("gw1", p.up.reader(), p.down.writer(), Options{Grace: int64(time.Second), Heartbeat: int64(every), HeartbeatMisses: misses})
	require.NoError(t, err)
	p.cl = cl
	t.Cleanup(func() {
		_ = p.down.w.Close()
		_ = p.up.r.Close()
		_ = p.down.r.Close()
		_ = p.up.w.Close()
	})
	return p
}

// startSleeper starts a long job on the gateway's node and waits until it
// runs; it returns the job's mark (for pgrep) and where Run's end arrives.
func startSleeper(t *testing.T, h runner.Host, ctx context.Context) (string, chan error) {
	t.Helper()
	mark := fmt.Sprintf("gwhb%d", time.Now().UnixNano())
	dir := t.TempDir()
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx, "touch "+dir+"/up; sleep 300 # "+mark, io.Discard, io.Discard) }()
	testkit.WaitFor(t, 20*time.Second, "the job to start", func() bool { _, err := os.Stat(dir + "/up"); return err == nil })
	return mark, ran
}

// TestCutGatewayIsLostWithinItsWindow: a gateway that stops answering (a
// stopped drove, a cut link) while a job runs there is given up by the
// heartbeat: the job's Run ends with a *runner.NodeError that says so, so
// the scheduler requeues it, within the controller's window; and the
// gateway, hearing nothing from its controller, kills the job, closes its
// node connections and ends with a *SilentError.
//
// Slow tier (about 25 s): both ends run in this process, so a machine
// that starves it delays the pings and their answers as much as the
// heartbeat's clocks; the windows are of seconds, as the real-sshd
// tests' --keepalive 2s, so that only a cut, not the load, loses the
// gateway (windows of 150 ms lost a healthy gateway at a load of 28).
func TestCutGatewayIsLostWithinItsWindow(t *testing.T) {
	testkit.Slow(t)
	const every = 2 * time.Second
	p := newCutPair(t, every, 3)
	h, err := p.cl.Connect(context.Background(), "local", ":")
	require.NoError(t, err)
	mark, ran := startSleeper(t, h, context.Background())
	// Heartbeats keep a quiet but healthy gateway: more than a window
	// passes without a loss (the job sleeps, so nothing else is said).
	window := Options{Heartbeat: int64(every), HeartbeatMisses: 3}.ControllerWindow()
	require.Equal(t, 4*every, window)
	quiet := time.NewTimer(window + 2*every)
	select {
	case err := <-ran:
		t.Fatalf("the job ended while the gateway was healthy: %v", err)
	case <-p.cl.Done():
		t.Fatalf("a healthy gateway was lost: %v", p.cl.Err())
	case <-quiet.C:
	}

	// The controller counts silence from the last frame it received (its
	// reader's wait), which may come an interval, or more under load,
	// before the cut: "lost before its window" is counted from there.
	heard := time.Now()
	if since := p.cl.waiting.Load(); since != 0 {
		heard = time.Unix(0, since)
	}
	cut := time.Now()
	p.up.Cut()
	p.down.Cut()
	var lostAfter, silent time.Duration
	select {
	case err = <-ran:
		lostAfter, silent = time.Since(cut), time.Since(heard)
	case <-time.After(60 * time.Second):
		t.Fatal("the job's Run did not end with its gateway cut")
	}
	var ne *runner.NodeError
	require.ErrorAs(t, err, &ne)
	var se *SilentError
	require.ErrorAs(t, err, &se)
	require.ErrorContains(t, err, "gateway gw1 lost: the gateway said nothing for")
	// The window and one tick of the watch: generous for a loaded machine,
	// but far below the job's 300 s or any TCP timeout.
	require.Less(t, lostAfter, window+every+20*time.Second)
	require.Greater(t, silent, window, "lost before a window passed without a word from it")

	select {
	case err := <-p.served:
		require.ErrorAs(t, err, &se)
		require.Equal(t, "the controller", se.Who)
	case <-time.After(60 * time.Second):
		t.Fatal("the gateway did not give up its silent controller")
	}
	testkit.WaitFor(t, 20*time.Second, "the job on the node of a gateway cut from its controller to be killed", func() bool { return !running(t, mark) })
	require.Equal(t, int32(1), p.closes.Load(), "the node connection closed")
}

// TestSlowReaderIsNotSilence: while the controller's own output is slow to
// take a job's output (a paused pager), the gateway is not given up, for
// longer than the controller's window and two ticks of its watch.
//
// Slow tier (about 12 s), with windows of seconds, for the reason
// TestCutGatewayIsLostWithinItsWindow gives (windows of 100 ms lost the
// gateway under load before the job's first line, and the test then
// waited for that line for good).
func TestSlowReaderIsNotSilence(t *testing.T) {
	testkit.Slow(t)
	const every = 2 * time.Second
	p := newCutPair(t, every, 2)
	h, err := p.cl.Connect(context.Background(), "local", ":")
	require.NoError(t, err)
	release := make(chan struct{})
	var out bytes.Buffer
	first := make(chan struct{}, 1)
	slow := writerFunc(func(b []byte) (int, error) {
		select {
		case first <- struct{}{}:
			<-release // the reader is paused for longer than a window
		default:
		}
		return out.Write(b)
	})
	ran := make(chan error, 1)
	go func() { ran <- h.Run(context.Background(), "echo one; sleep 0.2; echo two", slow, io.Discard) }()
	select {
	case <-first:
	case err := <-ran:
		t.Fatalf("the job ended before its first line reached our reader: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the job's first line did not reach our reader in 60 s")
	}
	window := Options{Heartbeat: int64(every), HeartbeatMisses: 2}.ControllerWindow()
	paused := time.NewTimer(window + 2*every)
	select {
	case <-p.cl.Done():
		t.Fatalf("the gateway was lost while our reader was slow: %v", p.cl.Err())
	case <-paused.C:
	}
	close(release)
	select {
	case err := <-ran:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("the job did not end once our reader went on")
	}
	require.Equal(t, "one\ntwo\n", out.String())
	select {
	case <-p.cl.Done():
		t.Fatalf("gateway lost: %v", p.cl.Err())
	default:
	}
}

// TestOldGatewayRefused: a gateway that speaks version 1 (no heartbeat) is
// refused in the hello, not left to fail on the first ping.
func TestOldGatewayRefused(t *testing.T) {
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	go func() {
		c := newConn(gwIn, gwOut)
		_, _ = c.recv()
		_ = c.send(&frame{Kind: kindHello, Hello: &Hello{Version: "drove-gateway/1"}})
	}()
	_, err := NewClient("old", fromGW, toGW, Options{Heartbeat: int64(time.Second)})
	var ve *VersionError
	require.True(t, errors.As(err, &ve), "%v", err)
	require.Equal(t, "drove-gateway/1", ve.Got)
}

// TestAbandonSaysWhy: a gateway given up by its caller (its SSH
// keepalives unanswered) fails its running jobs with that reason, as a
// *runner.NodeError.
func TestAbandonSaysWhy(t *testing.T) {
	p := newCutPair(t, 0, 0)
	h, err := p.cl.Connect(context.Background(), "local", ":")
	require.NoError(t, err)
	mark, ran := startSleeper(t, h, context.Background())
	p.cl.Abandon(errors.New("its SSH connection is dead: no keepalive reply in 3s"))
	select {
	case err = <-ran:
	case <-time.After(60 * time.Second):
		t.Fatal("the job's Run did not end with its gateway abandoned")
	}
	var ne *runner.NodeError
	require.ErrorAs(t, err, &ne)
	require.EqualError(t, err, "node local: gateway gw1 lost: its SSH connection is dead: no keepalive reply in 3s")
	require.NoError(t, p.down.w.Close()) // what closing its session does
	select {
	case err := <-p.served:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("the gateway's Serve did not end with its session closed")
	}
	testkit.WaitFor(t, 20*time.Second, "the job to be killed", func() bool { return !running(t, mark) })
}
