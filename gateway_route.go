package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/drove-dev/drove/gateway"
	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/nodes"
	"github.com/drove-dev/drove/runner"
	"github.com/drove-dev/drove/topology"
)

// routedGateways reaches nodes by routes: a topology file's on the
// controller (--topology), the rest of a route a controller sent on a
// gateway. A node's first hop is a set of gateways (a level of the tree),
// which the node ranks by rendezvous hashing as --gateway's nodes rank
// theirs: it goes through the first of its order that works, and when
// that gateway is lost, through its next one of the same set, so only the
// lost gateway's nodes move (gateway_reroute.go). A gateway is started at
// its first node's connect; the node is asked of it with the rest of the
// route, and that gateway does the same one level down. A node whose set
// has no gateway left fails: the tree says it is reached through that
// set, so it is not tried directly.
type routedGateways struct {
	p *gatewayPool // its start, dialer, binary and options; its own gws unused

	mu  sync.Mutex
	gws map[string]*gatewayConn // by gateway name, once a node's set named it
}

func newRoutedGateways(e *env, d *nodes.Dialer, binary string, opts gateway.Options) (*routedGateways, error) {
	p, err := newBasePool(e, d, binary, opts)
	if err != nil {
		return nil, fmt.Errorf("gateways: cannot find this drove's binary to send: %w", err)
	}
	return &routedGateways{p: p, gws: map[string]*gatewayConn{}}, nil
}

// connect connects node sp (called name in messages) along route, which
// is not empty: through the first gateway of route[0], in sp's order of
// them, that can carry it (see routedHost).
func (r *routedGateways) connect(ctx context.Context, name string, sp hostlist.Spec, route [][]string) (runner.Host, error) {
	h := &routedHost{pool: r.p, name: name, spec: sp, routes: r.order(sp.Key(), route[0]), rest: route[1:]}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.connectLocked(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// order is the gateways of set in node's rendezvous order of them.
func (r *routedGateways) order(node string, set []string) []*gatewayConn {
	gws := make([]*gatewayConn, 0, len(set))
	r.mu.Lock()
	for _, name := range set {
		g := r.gws[name]
		if g == nil {
			g = &gatewayConn{spec: hostlist.Spec{Host: name, Slots: 1}, weight: routeHash(name)}
			r.gws[name] = g
		}
		gws = append(gws, g)
	}
	r.mu.Unlock()
	return rendezvous(node, gws)
}

// close ends every gateway's conversation: each kills what it still runs
// (its own gateways' included) and exits.
func (r *routedGateways) close() {
	r.p.closing.Store(true) // their ends are no loss: not reported
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.gws {
		if g.cl != nil {
			_ = g.cl.Close()
		}
		if g.conn != nil {
			_ = g.conn.Close()
		}
	}
}

// topologyRoutes is --topology: the routes of a topology file's tree
// rooted at this machine.
type topologyRoutes struct {
	tree *topology.Tree
	via  *routedGateways
}

// readTopology reads file and roots its tree at this machine's short host
// name, as ClusterShell does. A bad file, or one without this machine, is
// a bad-input error (exit 2) naming the file (and line).
func readTopology(e *env, file string, groups *hostlist.Groups) (*topology.Tree, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, usageErrorf("--topology: %v", err)
	}
	defer f.Close()
	top, err := topology.Parse(f, file, groups)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	root, err := shortHostname(e)
	if err != nil {
		return nil, usageErrorf("--topology: this machine's host name: %v", err)
	}
	tree, err := top.Tree(root)
	if err != nil {
		var re *topology.RootError
		if errors.As(err, &re) {
			return nil, &exitError{code: exitUsage, err: err}
		}
		return nil, usageErrorf("--topology: %v", err)
	}
	return tree, nil
}

// shortHostname is this machine's host name up to its first dot
// (ClusterShell's name for the root of a topology).
func shortHostname(e *env) (string, error) {
	hn := os.Hostname
	if e.hostname != nil {
		hn = e.hostname
	}
	h, err := hn()
	if err != nil {
		return "", err
	}
	h, _, _ = strings.Cut(h, ".")
	return h, nil
}

// node is the runner node of sp reached along its route, or false when
// the tree gives it none (it is reached directly) or t is nil.
func (t *topologyRoutes) node(name string, sp hostlist.Spec) (runner.Node, bool) {
	if t == nil {
		return runner.Node{}, false
	}
	route := t.tree.Route(sp.Host)
	if len(route) == 0 {
		return runner.Node{}, false
	}
	via := t.via
	return runner.Node{Name: name, Slots: sp.Slots, Connect: func(ctx context.Context) (runner.Host, error) {
		return via.connect(ctx, name, sp, route)
	}}, true
}

// useTopology makes fl reach its nodes along the routes of --topology,
// if given, whose first gateways d reaches. The caller closes what it
// returns (nil without --topology) when the run ends.
func (g *gatewayFlags) useTopology(e *env, fl *fleetFlags, d *nodes.Dialer) (*topologyRoutes, error) {
	if g.Topology == "" {
		return nil, nil
	}
	if len(g.Gateway) > 0 {
		return nil, usageErrorf("--topology and --gateway cannot be used together: the topology file names the gateways")
	}
	tree, err := readTopology(e, g.Topology, fl.nodeGroups(e))
	if err != nil {
		return nil, err
	}
	via, err := newRoutedGateways(e, d, g.GatewayBinary, gateway.Options{SSHConfig: g.GatewaySSHConfig, AcceptNew: fl.AcceptNew,
		ConnectTimeout: int64(fl.ConnTimeout), Keepalive: int64(fl.Keepalive), Grace: int64(fl.Grace), MaxHandshakes: fl.MaxHandshakes})
	if err != nil {
		return nil, usageErrorf("--topology: %v", err)
	}
	fl.routes = &topologyRoutes{tree: tree, via: via}
	return fl.routes, nil
}

// close ends the gateways the routes started.
func (t *topologyRoutes) close() { t.via.close() }

// describe writes sp's route for --dry-run: each level's gateway set
// folded, nearest the controller first, joined by " > ", then, after a
// tab, "first=" and the gateway of each level sp takes while none is lost
// (its first in rendezvous order); "" for a node reached directly (or
// without --topology).
func (t *topologyRoutes) describe(sp hostlist.Spec) string {
	if t == nil {
		return ""
	}
	var levels, first []string
	for _, set := range t.tree.Route(sp.Host) {
		levels = append(levels, hostlist.Fold(set))
		first = append(first, t.via.order(sp.Key(), set)[0].spec.Key())
	}
	if len(levels) == 0 {
		return ""
	}
	return strings.Join(levels, " > ") + "\tfirst=" + strings.Join(first, " > ")
}
