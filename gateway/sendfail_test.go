//go:build unix

package gateway

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// breakablePair is a Client and a Serve over pipes whose controller-side
// writes can be made to fail while both pipes stay open: a session whose
// channel the other side closed, before the Client's reader has seen the
// end of the gateway's output.
type breakablePair struct {
	cl     *Client
	broken atomic.Bool
}

func newBreakablePair(t *testing.T) *breakablePair {
	t.Helper()
	p := &breakablePair{}
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	connect := func(ctx context.Context, spec string, route [][]string, opts Options) (runner.Host, error) {
		return &runner.Local{Grace: time.Second}, nil
	}
	go func() {
		_ = Serve(context.Background(), gwIn, gwOut, connect)
		_ = gwOut.Close()
	}()
	w := writerFunc(func(b []byte) (int, error) {
		if p.broken.Load() {
			return 0, errors.New("EOF on the gateway's channel")
		}
		return toGW.Write(b)
	})
	cl, err := NewClient("gw1", fromGW, w, Options{Grace: int64(time.Second)})
	require.NoError(t, err)
	p.cl = cl
	t.Cleanup(func() { _ = toGW.Close(); _ = fromGW.Close() })
	return p
}

// TestSendFailureLosesTheGateway: a write to the gateway that fails ends
// the conversation there and then: the job whose frame could not be sent
// ends with a *runner.NodeError once the gateway is lost (Done closed,
// Err naming the failed send), so its caller sees a lost gateway and
// takes the node's next route (routedHost) instead of evicting a node
// that did nothing wrong; a connect whose request could not be sent ends
// the same way.
func TestSendFailureLosesTheGateway(t *testing.T) {
	p := newBreakablePair(t)
	h, err := p.cl.Connect(context.Background(), "local", ":")
	require.NoError(t, err)
	p.broken.Store(true)

	err = h.Run(context.Background(), "true", io.Discard, io.Discard)
	var ne *runner.NodeError
	require.ErrorAs(t, err, &ne)
	select {
	case <-p.cl.Done():
	default:
		t.Fatalf("the job's frame could not be sent (%v), but its gateway is not lost", err)
	}
	require.ErrorContains(t, p.cl.Err(), "gateway gw1 lost: gateway: send: EOF on the gateway's channel")

	_, err = p.cl.Connect(context.Background(), "local2", ":")
	require.ErrorContains(t, err, "gateway gw1 lost")
}
