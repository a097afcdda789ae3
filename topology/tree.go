package topology

import "fmt"

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

// Tree is a topology seen from its root, the controller.
type Tree struct {
	root   *group
	groups int            // how many groups: no route is longer
	desc   map[*group]set // memo: the machines below a group
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
	put := func(ns set) {
		k := ns.String()
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
		put(r.src)
		if leaf := r.dst.minus(srcs); len(leaf) > 0 {
			put(leaf)
		}
	}
	for _, g := range groups {
		dst := t.connected(g.nodes)
		if len(dst) == 0 {
			continue
		}
		for _, c := range groups {
			if c != g && c.nodes.within(dst) {
				g.children = append(g.children, c)
			}
		}
	}
	for _, g := range groups {
		if g.nodes.has(root) {
			return &Tree{root: g, groups: len(groups), desc: map[*group]set{}}, nil
		}
	}
	return nil, &RootError{File: t.file, Root: root}
}

// below is every machine under g (not g's own).
func (tr *Tree) below(g *group) set {
	if s, ok := tr.desc[g]; ok {
		return s
	}
	tr.desc[g] = set{} // a cycle (which Parse refuses) ends here
	out := set{}
	for _, c := range g.children {
		out.addAll(c.nodes)
		out.addAll(tr.below(c))
	}
	tr.desc[g] = out
	return out
}

// Route is the gateways between the controller and node, nearest the
// controller first: at each level, the set of interchangeable gateways
// (a route's source) one of which carries node on. It is empty for a node
// the controller reaches directly: one of its own destinations, or a node
// the tree does not hold below it (ClusterShell reaches those directly
// too).
func (tr *Tree) Route(node string) [][]string {
	var out [][]string
	g := tr.root
	for range tr.groups {
		var next *group
		for _, c := range g.children {
			if tr.below(c).has(node) {
				next = c
				break
			}
			if c.nodes.has(node) {
				return out
			}
		}
		if next == nil {
			return out
		}
		out = append(out, next.nodes.names())
		g = next
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
