package topology

import (
	"fmt"
	"slices"
)

// RootError is a controller whose name is in no group of the file's
// routes: ClusterShell refuses such a tree ("not a valid root node"), and
// so does drove, rather than guess where this machine stands.
type RootError struct {
	File string
	Root string
}

func (e *RootError) Error() string {
	return fmt.Sprintf("topology %s: this machine, %q (ClusterShell roots the tree at its short host name), is in no route: add a line '%s: GATEWAYS'", e.File, e.Root, e.Root)
}

// Tree is a topology seen from its root, the controller. Its methods are
// not safe for concurrent use (they fill caches).
type Tree struct {
	root   *group
	groups int             // how many groups: no route is longer
	below  map[*group]set  // cache: the machines under a group
	next   map[*group]hops // cache: where each machine under a group goes next
	names  map[*group][]string
}

// hops maps a machine to the child group that carries it on (direct
// false) or that it belongs to (direct true: reached from the group's
// own machines).
type hops map[string]hop

type hop struct {
	child  *group
	direct bool
}

// group is a set of machines with the same place in the tree
// (ClusterShell's TopologyNodeGroup): a route's source, or the machines of
// a route's destination that are no route's source.
type group struct {
	nodes    set
	children []*group
}

// Tree builds the tree rooted at the group that holds root, as
// ClusterShell's TopologyGraph.to_tree does: a *RootError when no group
// holds it.
func (t *Topology) Tree(root string) (*Tree, error) {
	var (
		groups []*group
		byKey  = map[string]int{}
		srcs   = set{}
	)
	put := func(ns set, k string) {
		if i, ok := byKey[k]; ok {
			groups[i] = &group{nodes: ns}
			return
		}
		byKey[k] = len(groups)
		groups = append(groups, &group{nodes: ns})
	}
	for _, r := range t.routes {
		srcs.addAll(r.src)
	}
	for _, r := range t.routes {
		put(r.src, r.key)
		if leaf := r.dst.minus(srcs); len(leaf) > 0 {
			put(leaf, key(leaf))
		}
	}
	// A group's children are the groups that its destinations hold whole,
	// in the groups' order.
	in := map[string][]int{} // machine -> the groups that hold it
	for i, g := range groups {
		for n := range g.nodes {
			in[n] = append(in[n], i)
		}
	}
	for _, g := range groups {
		dst := t.connected(g.nodes)
		seen := map[int]bool{}
		var cand []int
		for n := range dst {
			for _, i := range in[n] {
				if !seen[i] {
					seen[i] = true
					cand = append(cand, i)
				}
			}
		}
		slices.Sort(cand)
		for _, i := range cand {
			if c := groups[i]; c != g && c.nodes.within(dst) {
				g.children = append(g.children, c)
			}
		}
	}
	for _, g := range groups {
		if g.nodes.has(root) {
			return &Tree{root: g, groups: len(groups), below: map[*group]set{}, next: map[*group]hops{}, names: map[*group][]string{}}, nil
		}
	}
	return nil, &RootError{File: t.file, Root: root}
}

// under is every machine under g (not g's own).
func (tr *Tree) under(g *group) set {
	if s, ok := tr.below[g]; ok {
		return s
	}
	tr.below[g] = set{} // a cycle (which Parse refuses) ends here
	out := set{}
	for _, c := range g.children {
		out.addAll(c.nodes)
		out.addAll(tr.under(c))
	}
	tr.below[g] = out
	return out
}

// hopsOf is ClusterShell's routing table at g (PropagationTreeRouter):
// for each child in order, the machines under it go through it, and its
// own machines are reached directly; the first child that names a
// machine wins.
func (tr *Tree) hopsOf(g *group) hops {
	if h, ok := tr.next[g]; ok {
		return h
	}
	h := hops{}
	for _, c := range g.children {
		for n := range tr.under(c) {
			if _, ok := h[n]; !ok {
				h[n] = hop{child: c}
			}
		}
		for n := range c.nodes {
			if _, ok := h[n]; !ok {
				h[n] = hop{child: c, direct: true}
			}
		}
	}
	tr.next[g] = h
	return h
}

func (tr *Tree) namesOf(g *group) []string {
	if ns, ok := tr.names[g]; ok {
		return ns
	}
	ns := g.nodes.names()
	tr.names[g] = ns
	return ns
}

// Route is the gateways between the controller and node, nearest the
// controller first: at each level, the set of interchangeable gateways
// (a route's source, sorted) one of which carries node on. It is empty
// for a node the controller reaches directly: one of its own
// destinations, or a node the tree does not hold below it (ClusterShell
// reaches those directly too).
func (tr *Tree) Route(node string) [][]string {
	var out [][]string
	g := tr.root
	for range tr.groups {
		h, ok := tr.hopsOf(g)[node]
		if !ok || h.direct {
			return out
		}
		out = append(out, slices.Clone(tr.namesOf(h.child)))
		g = h.child
	}
	return out
}

// Gateways is every machine of the tree below the root that carries
// others, sorted.
func (tr *Tree) Gateways() []string {
	all := set{}
	seen := map[*group]bool{tr.root: true}
	stack := append([]*group(nil), tr.root.children...)
	for len(stack) > 0 {
		g := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[g] {
			continue
		}
		seen[g] = true
		if len(g.children) > 0 {
			all.addAll(g.nodes)
		}
		stack = append(stack, g.children...)
	}
	return all.names()
}
