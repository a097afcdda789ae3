//go:build unix

package main

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/gateway"
	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// newInprocRoutes is a topology's routedGateways whose gateways, names,
// are served in this process over pipes, each with connect (nil: every
// node is this machine, and onRun, when not nil, hears the gateway's name
// as a job starts through it).
func newInprocRoutes(t *testing.T, connect gateway.Connector, onRun func(gw string), names ...string) (*routedGateways, map[string]*inprocGateway) {
	t.Helper()
	via, err := newRoutedGateways(&env{stderr: io.Discard}, nil, "drove", gateway.Options{})
	require.NoError(t, err)
	via.order("", names) // makes their gatewayConns
	gws := map[string]*inprocGateway{}
	for _, name := range names {
		g := serveInproc(t, name, connect, onRun)
		via.gws[name].once.Do(func() { via.gws[name].cl = g.cl })
		gws[name] = g
	}
	return via, gws
}

// topoNodes are the runner nodes of names along route through via.
func topoNodes(via *routedGateways, names []string, route [][]string) []runner.Node {
	var ns []runner.Node
	for _, n := range names {
		sp, _ := hostlist.ParseSpec(n)
		ns = append(ns, runner.Node{Name: n, Slots: 1, Connect: func(ctx context.Context) (runner.Host, error) {
			return via.connect(ctx, n, sp, route)
		}})
	}
	return ns
}

// firstOf is node's first gateway of set.
func firstOf(via *routedGateways, node string, set []string) string {
	return via.order(node, set)[0].spec.Key()
}

// rerouteRun runs 48 short jobs over 12 nodes along route through via,
// and kills gateway victim (of set, the route's level that ranks it) as a
// job starts through it after the first success of a node that has it
// first (hook is the onRun of set's gateways). It checks what a
// user of --topology expects: the jobs running through it are requeued
// (RouteErrors naming it), no node is evicted, every job succeeds once,
// its nodes run jobs afterwards through their next gateway of the set,
// and every other node stays on its first gateway (ranGW says where each
// job ran: the set's gateway name of its node, at the job's start).
func rerouteRun(t *testing.T, via *routedGateways, route [][]string, set []string, hook *rerouteHook, kill func(gw string), ranGW func() map[string][]string) {
	t.Helper()
	names, cmds, victim, theirs := rerouteJobs(t, func(n string) string { return firstOf(via, n, set) })
	w := newRerouteWatch(names[0], victim, func() { kill(victim) })
	hook.w.Store(w)
	rep := runner.Run(context.Background(), runner.Config{Nodes: topoNodes(via, names, route),
		Jobs: jobs.Concat(&jobs.Strings{Cmds: cmds, Name: "--job"}), MaxAttempts: 3, Events: w.event})
	requireRerouted(t, rep, w, cmds, victim, theirs)
	// The lost gateway's nodes went on through their second gateway of
	// the set, the others never moved.
	ran := ranGW()
	for _, n := range names {
		if theirs[n] {
			second := via.order(n, set)[1].spec.Key()
			gws := ran[n]
			require.Equal(t, second, gws[len(gws)-1], "node %s went on through another gateway than its second", n)
			continue
		}
		for _, g := range ran[n] {
			require.Equal(t, firstOf(via, n, set), g, "node %s moved, but its gateway was not lost", n)
		}
	}
}

// ranOn records, by node, the gateway each job started through.
type ranOn struct {
	mu  sync.Mutex
	gws map[string][]string
}

func (r *ranOn) add(node, gw string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gws == nil {
		r.gws = map[string][]string{}
	}
	r.gws[node] = append(r.gws[node], gw)
}

func (r *ranOn) get() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gws
}

// hooked is a connector whose nodes are this machine, telling rec which
// gateway (gw) each job of a node starts through.
func hooked(gw string, rec *ranOn) gateway.Connector {
	return func(ctx context.Context, spec string, route [][]string, o gateway.Options) (runner.Host, error) {
		return hookedHost{Host: &runner.Local{Grace: time.Second}, onRun: func() { rec.add(spec, gw) }}, nil
	}
}

// TestTopologyLostGatewaysNodesRerouted: a topology's first level of
// three gateways loses one mid-run: its nodes go on through their next
// gateway of the level (rendezvous, as --gateway's), the others stay.
func TestTopologyLostGatewaysNodesRerouted(t *testing.T) {
	set := []string{"gw1", "gw2", "gw3"}
	rec := &ranOn{}
	via, err := newRoutedGateways(&env{stderr: io.Discard}, nil, "drove", gateway.Options{})
	require.NoError(t, err)
	via.order("", set)
	gws := map[string]*inprocGateway{}
	hook := &rerouteHook{}
	for _, name := range set {
		g := serveInproc(t, name, hooked(name, rec), hook.onRun)
		via.gws[name].once.Do(func() { via.gws[name].cl = g.cl })
		gws[name] = g
	}
	rerouteRun(t, via, [][]string{set}, set, hook, func(gw string) { killSeen(gws[gw]) }, rec.get)
}

// twoLevelRoutes is a controller's topology of two levels served in this
// process: one first-level gateway, top, whose drove reaches the nodes
// through the second level's gateways (set), as "drove gateway" does.
func twoLevelRoutes(t *testing.T, set []string, rec *ranOn, onRun func(gw string)) (*routedGateways, map[string]*inprocGateway) {
	t.Helper()
	lower, err := newRoutedGateways(&env{stderr: io.Discard}, nil, "drove", gateway.Options{})
	require.NoError(t, err)
	lower.order("", set)
	gws := map[string]*inprocGateway{}
	for _, name := range set {
		g := serveInproc(t, name, hooked(name, rec), onRun)
		lower.gws[name].once.Do(func() { lower.gws[name].cl = g.cl })
		gws[name] = g
	}
	top := func(ctx context.Context, spec string, route [][]string, o gateway.Options) (runner.Host, error) {
		sp, err := hostlist.ParseSpec(spec)
		if err != nil {
			return nil, err
		}
		return lower.connect(ctx, sp.Key(), sp, route)
	}
	via, _ := newInprocRoutes(t, top, nil, "top")
	return via, gws
}

// TestTopologyLowerLevelLostRerouted: a second-level gateway lost mid-run
// is rerouted by the first-level gateway above it among its level; the
// controller hears a route's failure (Result.Route), requeues the jobs
// that ran through it and keeps every node.
func TestTopologyLowerLevelLostRerouted(t *testing.T) {
	set := []string{"l1", "l2", "l3"}
	rec := &ranOn{}
	hook := &rerouteHook{}
	via, gws := twoLevelRoutes(t, set, rec, hook.onRun)
	rerouteRun(t, via, [][]string{{"top"}, set}, set, hook, func(gw string) { killSeen(gws[gw]) }, rec.get)
}

// TestTopologyNoGatewayLeft: a node whose level has no gateway left is not
// reached directly (the tree says it is behind that level): its connect
// fails naming each gateway's loss, at either level.
func TestTopologyNoGatewayLeft(t *testing.T) {
	set := []string{"gw1", "gw2"}
	via, gws := newInprocRoutes(t, nil, nil, set...)
	for _, g := range gws {
		g.kill()
		<-g.cl.Done()
	}
	_, err := via.connect(context.Background(), "n1", hostlist.Spec{Host: "n1", Slots: 1}, [][]string{set})
	require.Error(t, err)
	msg := err.Error()
	require.True(t, strings.HasPrefix(msg, "no gateway left (gateway gw"), msg)
	require.Contains(t, msg, "gateway gw1 lost: gateway: receive: connection reset")
	require.Contains(t, msg, "gateway gw2 lost: gateway: receive: connection reset")
	require.True(t, strings.HasSuffix(msg, ")"), "tried directly: %s", msg)

	via, gws = twoLevelRoutes(t, []string{"l1", "l2"}, &ranOn{}, nil)
	for _, g := range gws {
		g.kill()
		<-g.cl.Done()
	}
	_, err = via.connect(context.Background(), "n1", hostlist.Spec{Host: "n1", Slots: 1}, [][]string{{"top"}, {"l1", "l2"}})
	require.Error(t, err)
	msg = err.Error()
	require.True(t, strings.HasPrefix(msg, "via gateway top: no gateway left (gateway l"), msg)
	require.Contains(t, msg, "gateway l1 lost: gateway: receive: connection reset")
	require.Contains(t, msg, "gateway l2 lost: gateway: receive: connection reset")
}

// TestTopologyEveryLowerRouteFailsEndsEvicted: a node that loses its
// second-level gateways one after another (each job kills the gateway it
// runs through) has one requeued attempt per gateway, then is evicted
// once its level has none left: no loop, no direct try.
func TestTopologyEveryLowerRouteFailsEndsEvicted(t *testing.T) {
	set := []string{"l1", "l2", "l3"}
	var gws map[string]*inprocGateway
	ready := make(chan struct{})
	var via *routedGateways
	via, gws = twoLevelRoutes(t, set, &ranOn{}, func(gw string) { <-ready; go gws[gw].kill() })
	close(ready)
	rep := runner.Run(context.Background(), runner.Config{Nodes: topoNodes(via, []string{"n1"}, [][]string{{"top"}, set}),
		Jobs: jobs.Concat(&jobs.Strings{Cmds: []string{"sleep 5"}, Name: "--job"}), MaxAttempts: 0})
	require.False(t, rep.OK())
	require.Len(t, rep.Evicted, 1)
	msg := rep.Evicted[0].Err.Error()
	require.Contains(t, msg, "no gateway left (")
	for _, g := range set {
		require.Contains(t, msg, "gateway "+g+" lost")
	}
	require.NotContains(t, msg, "directly")
	require.Len(t, rep.Failed, 1)
	require.Len(t, rep.Failed[0].Attempts, len(set)+1, "one attempt per gateway, and the last that found no route")
}
