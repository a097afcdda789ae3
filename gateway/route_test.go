//go:build unix

package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// served is a gateway's Serve over pipes: its Client, and a way to cut it
// (its output ends, as when its drove is killed).
type servedGW struct {
	cl     *Client
	cut    func()
	closed chan error // Serve's return
}

func serveOverPipes(t *testing.T, name string, connect Connector) *servedGW {
	t.Helper()
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	s := &servedGW{closed: make(chan error, 1)}
	go func() {
		err := Serve(context.Background(), gwIn, gwOut, connect)
		_ = gwOut.Close()
		s.closed <- err
	}()
	cl, err := NewClient(name, fromGW, toGW, Options{Grace: int64(time.Second)})
	require.NoError(t, err)
	cl.closer = closerFunc(func() error { return toGW.Close() })
	s.cl = cl
	s.cut = func() { _ = gwOut.CloseWithError(errors.New("killed")); _ = toGW.Close() }
	t.Cleanup(func() { _ = toGW.Close(); _ = fromGW.Close() })
	return s
}

// twoLevels is a controller's gateway g1 whose connector reaches a node
// whose route names more gateways through a gateway of its own (g2, over
// pipes, started at the first such node), as "drove gateway" does; g2
// reaches ':' itself.
type twoLevels struct {
	g1      *servedGW
	mu      sync.Mutex
	g2      *servedGW
	routes  []string // the routes g2 was asked for, as "g2: [..]"
	started int      // g2 starts
}

func newTwoLevels(t *testing.T) *twoLevels {
	tl := &twoLevels{}
	leaf := func(ctx context.Context, spec string, route [][]string, opts Options) (runner.Host, error) {
		tl.mu.Lock()
		tl.routes = append(tl.routes, fmt.Sprintf("g2: %v", route))
		tl.mu.Unlock()
		if len(route) > 0 || spec != ":" {
			return nil, fmt.Errorf("g2 reaches only ':' itself (asked for %q via %v)", spec, route)
		}
		return &runner.Local{Grace: time.Second}, nil
	}
	tl.g1 = serveOverPipes(t, "g1", func(ctx context.Context, spec string, route [][]string, opts Options) (runner.Host, error) {
		if len(route) == 0 {
			return nil, fmt.Errorf("g1 reaches no node itself")
		}
		tl.mu.Lock()
		if tl.g2 == nil {
			tl.g2 = serveOverPipes(t, route[0][0], leaf)
			tl.started++
		}
		g2 := tl.g2
		tl.mu.Unlock()
		return g2.cl.ConnectVia(ctx, spec, spec, route[1:])
	})
	return tl
}

// TestTwoLevels: a node asked of gateway g1 with the rest of its route is
// reached through g1's own gateway g2 (started once), with the output and
// end it has on the node itself; g2's loss is a *runner.NodeError on the
// controller, as g1's would be; and when the controller goes, both
// gateways end and kill what they ran.
func TestTwoLevels(t *testing.T) {
	tl := newTwoLevels(t)
	h, err := tl.g1.cl.ConnectVia(context.Background(), "n1", ":", [][]string{{"g2"}})
	require.NoError(t, err)
	_, err = tl.g1.cl.ConnectVia(context.Background(), "n2", ":", [][]string{{"g2"}})
	require.NoError(t, err)
	tl.mu.Lock()
	require.Equal(t, []string{"g2: []", "g2: []"}, tl.routes)
	require.Equal(t, 1, tl.started)
	tl.mu.Unlock()

	var out, errOut strings.Builder
	err = h.Run(context.Background(), "echo out; echo err >&2; exit 4", &out, &errOut)
	require.Equal(t, "out\n", out.String())
	require.Equal(t, "err\n", errOut.String())
	var ee *runner.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 4, ee.Status)

	// A route g1 cannot follow fails the connect with g2's word for it.
	_, err = tl.g1.cl.ConnectVia(context.Background(), "n3", "n3", [][]string{{"g2"}})
	require.ErrorContains(t, err, `via gateway g1: via gateway g2: g2 reaches only ':' itself`)

	// g2 dies mid-job: the controller's job ends with a node error that
	// names g2's loss.
	dir := t.TempDir()
	ran := make(chan error, 1)
	go func() { ran <- h.Run(context.Background(), "touch "+dir+"/up; sleep 300", io.Discard, io.Discard) }()
	testkit.WaitFor(t, 20*time.Second, "the job to start", func() bool { _, err := os.Stat(dir + "/up"); return err == nil })
	tl.g2.cut()
	var ne *runner.NodeError
	select {
	case err = <-ran:
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not end when g2 was lost")
	}
	require.ErrorAs(t, err, &ne)
	require.ErrorContains(t, err, "gateway g2 lost")
	require.Equal(t, "n1", ne.Node)
	select {
	case <-tl.g2.closed: // g2 killed its job and ended
	case <-time.After(20 * time.Second):
		t.Fatal("g2 did not end when cut")
	}

	// The controller goes: g1's Serve returns.
	require.NoError(t, tl.g1.cl.Close())
	select {
	case err := <-tl.g1.closed:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("g1 did not end with its controller gone")
	}
}

// TestConnectSendsTheRoute: the gateway's Connector gets the rest of the
// route the controller sent, as sent.
func TestConnectSendsTheRoute(t *testing.T) {
	got := make(chan [][]string, 1)
	g := serveOverPipes(t, "g1", func(ctx context.Context, spec string, route [][]string, opts Options) (runner.Host, error) {
		got <- route
		return &runner.Local{}, nil
	})
	_, err := g.cl.ConnectVia(context.Background(), "n", ":", [][]string{{"b1", "b2"}, {"c1"}})
	require.NoError(t, err)
	require.Equal(t, [][]string{{"b1", "b2"}, {"c1"}}, <-got)
	_, err = g.cl.Connect(context.Background(), "n", ":")
	require.NoError(t, err)
	require.Empty(t, <-got)
}
