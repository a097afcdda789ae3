package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/runner"
)

// A node's routes: the gateways in its rendezvous (highest random weight)
// order, then, when every gateway has failed, the node itself reached
// directly through this machine's ssh_config (--gateway only: a
// topology's node has no direct route). Each node ranks every
// gateway by a hash of the pair, so the order is the node's own and
// stable: a gateway that is lost or failed to start moves only the nodes
// that had it first, each to its own next gateway, spread over the others.

// routeHash is the hash of a gateway's or a node's name.
func routeHash(s string) uint64 {
	h := fnv.New64a()
	_, _ = io.WriteString(h, s)
	return h.Sum64()
}

// mix is splitmix64's finaliser: FNV alone barely changes its high bits
// between names that differ in their last character.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// order is the node's gateways, its first choice first.
func (p *gatewayPool) order(node string) []*gatewayConn { return rendezvous(node, p.gws) }

// rendezvous is gws in node's order of them, its first choice first.
// A gateway's place depends on its name and node's only, so the gateways
// of a topology's level are ranked as --gateway's are.
func rendezvous(node string, gws []*gatewayConn) []*gatewayConn {
	n := routeHash(node)
	gws = slices.Clone(gws)
	score := func(g *gatewayConn) uint64 { return mix(n ^ mix(g.weight)) }
	slices.SortStableFunc(gws, func(a, b *gatewayConn) int { return cmp.Compare(score(b), score(a)) })
	return gws
}

// routedHost is a node behind the gateways. It runs jobs through the
// gateway of its route; when that gateway is lost, the jobs running
// through it end with a *runner.RouteError (the scheduler requeues them
// and keeps the node), and the next Run takes the node's next route.
// Routes are tried in order and never again, so a node has at most one
// RouteError per gateway; once every route has failed, Run fails with a
// plain *runner.NodeError naming why each failed, and the node is evicted.
// Below a topology's gateway (rest not empty) the gateway reroutes the node
// among the next level's gateways itself: a job lost there ends with the
// *runner.RouteError the gateway sent, and the node keeps this route.
type routedHost struct {
	pool   *gatewayPool
	name   string
	spec   hostlist.Spec
	routes []*gatewayConn
	rest   [][]string                                 // the route below the gateway: a topology's lower levels
	direct func(context.Context) (runner.Host, error) // nil: no direct route

	mu     sync.Mutex
	at     int          // the route in use or to try next; len(routes): directly
	cur    runner.Host  // nil: connect at the next Run
	via    *gatewayConn // cur's gateway, nil when direct
	why    []string     // why the routes before at failed
	closed bool
}

var _ runner.Host = (*routedHost)(nil)

// connectLocked connects the node through its first route that works,
// from at on. A gateway that cannot carry it (lost, failed to start) is
// passed over; the node's own failure through a working gateway (it is
// down, refuses the key) is the node's, and returned as it is.
func (r *routedHost) connectLocked(ctx context.Context) error {
	for ; r.at < len(r.routes); r.at++ {
		g := r.routes[r.at]
		if err := r.pool.ready(ctx, g); err != nil {
			r.why = append(r.why, err.Error())
			continue
		}
		h, err := g.cl.ConnectVia(ctx, r.name, r.spec.Key(), r.rest)
		if err != nil {
			if g.lost() {
				r.why = append(r.why, g.cl.Err().Error())
				continue
			}
			return err
		}
		r.cur, r.via = h, g
		return nil
	}
	gone := "no gateway left (" + strings.Join(r.why, "; ") + ")"
	if r.direct == nil || r.at > len(r.routes) {
		return errors.New(gone)
	}
	r.at++ // directly is the last route
	h, err := r.direct(ctx)
	if err != nil {
		return fmt.Errorf("%s; directly: %w", gone, err)
	}
	r.cur, r.via = h, nil
	return nil
}

// route is the node's connection for a job, through its next route when
// the current one's gateway is lost.
func (r *routedHost) route(ctx context.Context) (runner.Host, *gatewayConn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, nil, errors.New("closed")
	}
	if r.cur != nil && r.via != nil && r.via.lost() {
		r.dropLocked(r.cur)
	}
	if r.cur == nil {
		if err := r.connectLocked(ctx); err != nil {
			return nil, nil, err
		}
	}
	return r.cur, r.via, nil
}

// dropLocked leaves the route of h, a connection through a lost gateway,
// for the next.
func (r *routedHost) dropLocked(h runner.Host) {
	if r.cur != h {
		return // another job's end has moved on already
	}
	_ = h.Close()
	r.why = append(r.why, r.via.cl.Err().Error())
	r.cur, r.via = nil, nil
	r.at++
}

// Run runs cmd on the node through its route (see routedHost).
func (r *routedHost) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	h, via, err := r.route(ctx)
	if err != nil {
		return &runner.NodeError{Node: r.name, Err: err}
	}
	err = h.Run(ctx, cmd, stdout, stderr)
	var ne *runner.NodeError
	if via != nil && errors.As(err, &ne) && via.lost() {
		r.mu.Lock()
		r.dropLocked(h)
		r.mu.Unlock()
		return &runner.NodeError{Node: r.name, Err: &runner.RouteError{Err: via.cl.Err()}}
	}
	return err
}

// Close closes the node's connection, on whichever route.
func (r *routedHost) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.cur == nil {
		return nil
	}
	err := r.cur.Close()
	r.cur = nil
	return err
}

// lost reports whether a started gateway is gone.
func (g *gatewayConn) lost() bool {
	select {
	case <-g.cl.Done():
		return true
	default:
		return false
	}
}
