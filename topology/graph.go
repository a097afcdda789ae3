package topology

import (
	"errors"
	"fmt"
)

// add checks rt against the routes so far as ClusterShell's routing table
// does (TopologyRoutingTable.add_route), and keeps it.
func (t *Topology) add(rt *route) error {
	if rt.src.meets(rt.dst) {
		return errors.New("source and destination overlap")
	}
	if t.loops(rt) {
		return errors.New("a loop: the destination leads back to the source")
	}
	for _, k := range t.routes {
		switch {
		case k.dst.within(rt.src) && !k.dst.equal(rt.src):
			return fmt.Errorf("a convergent path: the source holds all of line %d's destination and more", k.line)
		case rt.dst.within(k.src) && !rt.dst.equal(k.src):
			return fmt.Errorf("a convergent path: the destination is part of line %d's source", k.line)
		case rt.dst.meets(k.dst) && !rt.src.equal(k.src):
			return fmt.Errorf("a convergent path: line %d's source reaches some of the same machines", k.line)
		}
	}
	for _, k := range t.routes {
		if rt.src.meets(k.src) && !rt.src.equal(k.src) {
			return fmt.Errorf("with line %d: %w", k.line, ErrOverlappingSources)
		}
	}
	t.routes = append(t.routes, rt)
	return nil
}

// connected is what the routes whose source holds all of ns reach
// (ClusterShell's TopologyRoutingTable.connected).
func (t *Topology) connected(ns set) set {
	out := set{}
	for _, r := range t.routes {
		if ns.within(r.src) {
			out.addAll(r.dst)
		}
	}
	return out
}

// loops is ClusterShell's _introduce_circular_reference: following what
// rt's destination reaches comes back to rt's source. The walk is bounded
// (ClusterShell's is not) and a walk that does not end counts as a loop.
func (t *Topology) loops(rt *route) bool {
	cur := rt.dst
	for range len(t.routes) + 2 {
		next := t.connected(cur)
		if len(next) == 0 {
			return false
		}
		if next.meets(rt.src) {
			return true
		}
		cur = next
	}
	return true
}
