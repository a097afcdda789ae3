package topology

import (
	"errors"
	"fmt"
	"strings"
)

// index finds the routes by their machines, so that each check of add
// costs the size of the new route, not the whole file's.
type index struct {
	bySrc    map[string][]*route // machine -> the routes whose source holds it
	byDst    map[string][]*route // machine -> the routes whose destination holds it
	emptyDst []*route            // routes whose destination is empty
}

// key is a set's identity: equal sets, equal keys.
func key(s set) string { return strings.Join(s.names(), "\x00") }

// add checks rt against the routes so far as ClusterShell's routing table
// does (TopologyRoutingTable.add_route: overlap, loop, convergent paths),
// then that its source does not overlap another without being equal, and
// keeps it.
func (t *Topology) add(rt *route) error {
	if t.idx.bySrc == nil {
		t.idx = index{bySrc: map[string][]*route{}, byDst: map[string][]*route{}}
	}
	rt.key = key(rt.src)
	if rt.src.meets(rt.dst) {
		return errors.New("source and destination overlap")
	}
	if t.loops(rt) {
		return errors.New("a loop: the destination leads back to the source")
	}
	if k := t.convergent(rt); k != nil {
		return k
	}
	for n := range rt.src {
		for _, k := range t.idx.bySrc[n] {
			if k.key != rt.key {
				return fmt.Errorf("with line %d: %w", k.line, ErrOverlappingSources)
			}
		}
	}
	t.routes = append(t.routes, rt)
	for n := range rt.src {
		t.idx.bySrc[n] = append(t.idx.bySrc[n], rt)
	}
	for n := range rt.dst {
		t.idx.byDst[n] = append(t.idx.byDst[n], rt)
	}
	if len(rt.dst) == 0 {
		t.idx.emptyDst = append(t.idx.emptyDst, rt)
	}
	return nil
}

// convergent is ClusterShell's _introduce_convergent_paths: against every
// known route k, rt's source must not hold all of k's destination and
// more, rt's destination must not be part of k's source, and rt's
// destination must not meet k's unless their sources are equal.
func (t *Topology) convergent(rt *route) error {
	// Source ⊋ a known destination: an empty one (⊂ anything), or one
	// that holds a machine of the source.
	if len(t.idx.emptyDst) > 0 {
		return fmt.Errorf("a convergent path: the source holds all of line %d's (empty) destination and more", t.idx.emptyDst[0].line)
	}
	seen := map[*route]bool{}
	for n := range rt.src {
		for _, k := range t.idx.byDst[n] {
			if seen[k] {
				continue
			}
			seen[k] = true
			if k.dst.within(rt.src) && !k.dst.equal(rt.src) {
				return fmt.Errorf("a convergent path: the source holds all of line %d's destination and more", k.line)
			}
		}
	}
	// Destination ⊊ a known source.
	if len(rt.dst) == 0 {
		if len(t.routes) > 0 {
			return fmt.Errorf("a convergent path: the (empty) destination is part of line %d's source", t.routes[0].line)
		}
	} else {
		for _, k := range t.idx.bySrc[any1(rt.dst)] {
			if rt.dst.within(k.src) && !rt.dst.equal(k.src) {
				return fmt.Errorf("a convergent path: the destination is part of line %d's source", k.line)
			}
		}
	}
	// Destinations that meet, from sources that differ.
	for n := range rt.dst {
		for _, k := range t.idx.byDst[n] {
			if k.key != rt.key {
				return fmt.Errorf("a convergent path: line %d's source reaches some of the same machines", k.line)
			}
		}
	}
	return nil
}

// any1 is some machine of a non-empty s.
func any1(s set) string {
	for n := range s {
		return n
	}
	return ""
}

// connected is what the routes whose source holds all of ns reach
// (ClusterShell's TopologyRoutingTable.connected; an empty ns is in every
// source).
func (t *Topology) connected(ns set) set {
	out := set{}
	if len(ns) == 0 {
		for _, r := range t.routes {
			out.addAll(r.dst)
		}
		return out
	}
	for _, r := range t.idx.bySrc[any1(ns)] {
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
