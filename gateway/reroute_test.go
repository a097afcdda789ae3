//go:build unix

package gateway

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// failingHost ends every job with err.
type failingHost struct{ err error }

func (h failingHost) Run(context.Context, string, io.Writer, io.Writer) error { return h.err }
func (h failingHost) Close() error                                            { return nil }

// TestRouteFailureCrossesTheGateway: a job that a gateway's host ends with
// a *runner.RouteError (a gateway of its own lost: the gateway reroutes
// the node itself) ends on the controller as a *runner.NodeError wrapping
// a *runner.RouteError, so the controller keeps the node; the node's own
// failure stays a plain *runner.NodeError.
func TestRouteFailureCrossesTheGateway(t *testing.T) {
	for _, c := range []struct {
		err   error
		route bool
	}{
		{&runner.NodeError{Node: "n1", Err: &runner.RouteError{Err: errors.New("gateway l2 lost: its session ended")}}, true},
		{&runner.NodeError{Node: "n1", Err: errors.New("ssh: connection reset")}, false},
	} {
		g := serveOverPipes(t, "g1", func(ctx context.Context, spec string, route [][]string, opts Options) (runner.Host, error) {
			return failingHost{err: c.err}, nil
		})
		h, err := g.cl.ConnectVia(context.Background(), "n1", "n1", [][]string{{"l1", "l2"}})
		require.NoError(t, err)
		err = h.Run(context.Background(), "true", io.Discard, io.Discard)
		var ne *runner.NodeError
		require.ErrorAs(t, err, &ne)
		require.Equal(t, "n1", ne.Node)
		require.Equal(t, c.err.(*runner.NodeError).Err.Error(), ne.Err.Error())
		var re *runner.RouteError
		require.Equal(t, c.route, errors.As(err, &re), "%v", err)
	}
}
