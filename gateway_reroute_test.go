//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/gateway"
	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

func routeTestPool(t *testing.T, names ...string) *gatewayPool {
	t.Helper()
	p := &gatewayPool{}
	for _, n := range names {
		sp, err := hostlist.ParseSpec(n)
		require.NoError(t, err)
		p.gws = append(p.gws, &gatewayConn{spec: sp, weight: routeHash(sp.Key())})
	}
	return p
}

// TestRendezvousOrder: each node ranks every gateway, the first choices
// spread evenly, and a gateway taken away moves only the nodes that had
// it first, each to its own second choice, spread over the others.
func TestRendezvousOrder(t *testing.T) {
	names := []string{"gw1", "gw2", "gw3", "gw4", "gw5", "gw6", "gw7", "gw8"}
	all := routeTestPool(t, names...)
	without := routeTestPool(t, "gw1", "gw2", "gw4", "gw5", "gw6", "gw7", "gw8") // gw3 gone
	first := map[string]int{}
	moved := map[string]int{}
	const nodes = 4000
	for i := range nodes {
		node := fmt.Sprintf("rack%dn%02d", i/40, i%40)
		o := all.order(node)
		require.Len(t, o, len(names))
		seen := map[string]bool{}
		for _, g := range o {
			seen[g.spec.Key()] = true
		}
		require.Len(t, seen, len(names), "not a permutation")
		require.Equal(t, gwKeys(o), gwKeys(all.order(node)), "not stable")
		first[o[0].spec.Key()]++
		w := without.order(node)[0].spec.Key()
		if o[0].spec.Key() == "gw3" {
			require.Equal(t, o[1].spec.Key(), w, "a moved node goes to its own second choice")
			moved[w]++
		} else {
			require.Equal(t, o[0].spec.Key(), w, "a node whose gateway is still there moved")
		}
	}
	for _, n := range names { // 500 each on average
		require.InDelta(t, nodes/len(names), first[n], 100, "share of %s: %v", n, first)
	}
	require.Len(t, moved, len(names)-1, "gw3's nodes spread over every other gateway: %v", moved)
}

func gwKeys(gs []*gatewayConn) []string {
	var s []string
	for _, g := range gs {
		s = append(s, g.spec.Key())
	}
	return s
}

// inprocGateway is a gateway served in this process over pipes; its
// nodes run on this machine (runner.Local), and each job says on which
// gateway it ran.
type inprocGateway struct {
	name  string
	gwOut *io.PipeWriter
	cl    *gateway.Client
}

func (g *inprocGateway) kill() { _ = g.gwOut.CloseWithError(errors.New("connection reset")) }

// hookedHost calls onRun as a job starts on it.
type hookedHost struct {
	runner.Host
	onRun func()
}

func (h hookedHost) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	h.onRun()
	return h.Host.Run(ctx, cmd, stdout, stderr)
}

// startInproc starts every gateway of p in this process. onRun, when not
// nil, is called with the gateway's name as a job starts through it.
func startInproc(t *testing.T, p *gatewayPool, onRun func(gw string)) map[string]*inprocGateway {
	t.Helper()
	out := map[string]*inprocGateway{}
	for _, g := range p.gws {
		gw := serveInproc(t, g.spec.Key(), nil, onRun)
		g.once.Do(func() { g.cl = gw.cl })
		out[gw.name] = gw
	}
	return out
}

// serveInproc serves gateway name in this process over pipes. Its nodes
// are those connect makes (nil: each is this machine); onRun, when not
// nil, is called with the gateway's name as a job starts through it.
func serveInproc(t *testing.T, name string, connect gateway.Connector, onRun func(gw string)) *inprocGateway {
	t.Helper()
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	serve := func(ctx context.Context, spec string, route [][]string, o gateway.Options) (runner.Host, error) {
		var h runner.Host = &runner.Local{Grace: time.Second}
		if connect != nil {
			var err error
			if h, err = connect(ctx, spec, route, o); err != nil {
				return nil, err
			}
		}
		if onRun != nil {
			h = hookedHost{Host: h, onRun: func() { onRun(name) }}
		}
		return h, nil
	}
	go func() {
		_ = gateway.Serve(context.Background(), gwIn, gwOut, serve)
		_ = gwOut.Close()
	}()
	cl, err := gateway.NewClient(name, fromGW, toGW, gateway.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = toGW.Close(); _ = fromGW.Close() })
	return &inprocGateway{name: name, gwOut: gwOut, cl: cl}
}

func routedNodes(p *gatewayPool, names []string, direct func(ctx context.Context) (runner.Host, error)) []runner.Node {
	var ns []runner.Node
	for _, n := range names {
		sp, _ := hostlist.ParseSpec(n)
		ns = append(ns, runner.Node{Name: n, Slots: 1, Connect: func(ctx context.Context) (runner.Host, error) {
			return p.connect(ctx, n, sp, direct)
		}})
	}
	return ns
}

func unreachable(ctx context.Context) (runner.Host, error) {
	return nil, errors.New("dial tcp: connection refused")
}

// TestLostGatewaysNodesRerouted: a gateway lost mid-run has its running
// jobs requeued, and its nodes go on at once through their next gateway:
// none is evicted, no --readmit-after is needed, every job succeeds once,
// and the other gateways' nodes stay where they were.
func TestLostGatewaysNodesRerouted(t *testing.T) {
	p := routeTestPool(t, "gw1", "gw2", "gw3")
	hook := &rerouteHook{}
	gws := startInproc(t, p, hook.onRun)
	names, cmds, victim, theirs := rerouteJobs(t, func(n string) string { return p.order(n)[0].spec.Key() })
	w := newRerouteWatch(names[0], victim, func() { killSeen(gws[victim]) })
	hook.w.Store(w)
	rep := runner.Run(context.Background(), runner.Config{Nodes: routedNodes(p, names, unreachable),
		Jobs: jobs.Concat(&jobs.Strings{Cmds: cmds, Name: "--job"}), MaxAttempts: 3, Events: w.event})
	requireRerouted(t, rep, w, cmds, victim, theirs)
}

// TestNoGatewayLeft: a node whose every gateway is lost is reached
// directly; when that fails too, it is refused with every reason named.
func TestNoGatewayLeft(t *testing.T) {
	p := routeTestPool(t, "gw1", "gw2")
	gws := startInproc(t, p, nil)
	for _, g := range gws {
		g.kill()
		<-g.cl.Done()
	}
	_, err := p.connect(context.Background(), "n1", hostlist.Spec{Host: "n1", Slots: 1}, unreachable)
	require.Error(t, err)
	msg := err.Error()
	require.True(t, strings.HasPrefix(msg, "no gateway left (gateway gw"), msg)
	require.Contains(t, msg, "gateway gw1 lost: gateway: receive: connection reset")
	require.Contains(t, msg, "gateway gw2 lost: gateway: receive: connection reset")
	require.True(t, strings.HasSuffix(msg, "); directly: dial tcp: connection refused"), msg)

	direct := func(context.Context) (runner.Host, error) { return &runner.Local{Grace: time.Second}, nil }
	rep := runner.Run(context.Background(), runner.Config{Nodes: routedNodes(p, []string{"n1"}, direct),
		Jobs: jobs.Concat(&jobs.Strings{Cmds: []string{"true"}, Name: "--job"}), MaxAttempts: 3})
	require.True(t, rep.OK(), "%+v", rep)
}

// TestEveryRouteFailsEndsEvicted: a node that loses its gateways one
// after another (each job kills the gateway it runs through) ends evicted
// once no route is left, with the reasons named: one RouteError per
// gateway at most, no loop.
func TestEveryRouteFailsEndsEvicted(t *testing.T) {
	p := routeTestPool(t, "gw1", "gw2", "gw3")
	var gws map[string]*inprocGateway
	ready := make(chan struct{})
	gws = startInproc(t, p, func(gw string) { <-ready; go gws[gw].kill() })
	close(ready)
	order := p.order("n1")
	rep := runner.Run(context.Background(), runner.Config{Nodes: routedNodes(p, []string{"n1"}, unreachable),
		Jobs: jobs.Concat(&jobs.Strings{Cmds: []string{"sleep 5"}, Name: "--job"}), MaxAttempts: 0})
	require.False(t, rep.OK())
	require.Len(t, rep.Evicted, 1)
	msg := rep.Evicted[0].Err.Error()
	require.Contains(t, msg, "no gateway left (")
	for _, g := range order {
		require.Contains(t, msg, "gateway "+g.spec.Key()+" lost")
	}
	require.Contains(t, msg, "directly: dial tcp: connection refused")
	require.Len(t, rep.Unrun, 0)
	require.Len(t, rep.Failed, 1)
	require.Len(t, rep.Failed[0].Attempts, len(order)+1, "one attempt per gateway, and the last that found no route")
}
