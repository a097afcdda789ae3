package main

import "strings"

// nodeChoice is pdsh's and clush's way of naming nodes, beside -n and -N:
// -w, -x, -g, -X and -a. Commands that reach every node of a list (run,
// copy) embed it, and it means the same in each.
type nodeChoice struct {
	Hosts     []string `short:"w" sep:"none" placeholder:"SPEC" help:"Same as --node (pdsh's and clush's -w). Repeatable."`
	Exclude   []string `short:"x" sep:"none" placeholder:"SPEC" help:"Leave out these nodes (ranges, lists and @groups, as pdsh -x and clush -x): a host alone leaves out every spec of that host. Repeatable."`
	Group     []string `short:"g" sep:"none" placeholder:"GROUP" help:"The nodes of ClusterShell node group GROUP ('source:group' for another source; a comma list of groups), as clush -g: the same as --node @GROUP. Groups come from ClusterShell's groups.d/*.yaml files. Repeatable."`
	ExclGroup []string `short:"X" name:"exclude-group" sep:"none" placeholder:"GROUP" help:"Leave out the nodes of GROUP (a comma list of groups), as clush -X: the same as --exclude @GROUP. Repeatable."`
	All       bool     `short:"a" help:"Every node of the default group source, as clush -a: the same as --node '@*' (the source's group 'all', or else all its groups)."`
}

// addTo adds the nodes named by -w, -g and -a to fl's --node list.
func (n *nodeChoice) addTo(fl *fleetFlags) {
	fl.Node = append(fl.Node, n.Hosts...)
	fl.Node = append(fl.Node, groupRefs(n.Group)...)
	if n.All {
		fl.Node = append(fl.Node, "@*")
	}
}

// exclude parses -x and -X into the nodes fl leaves out of every list.
func (n *nodeChoice) exclude(fl *fleetFlags, e *env) error {
	for _, x := range append(append([]string(nil), n.Exclude...), groupRefs(n.ExclGroup)...) {
		sp, err := fl.nodeGroups(e).ParseList(x)
		if err != nil {
			return usageErrorf("--exclude: %v", err)
		}
		fl.excluded = append(fl.excluded, sp...)
	}
	return nil
}

// groupRefs turns clush's -g and -X values, "g1,g2" or "@g1", into node
// specs, "@g1,@g2".
func groupRefs(values []string) []string {
	var out []string
	for _, v := range values {
		var names []string
		depth, start := 0, 0
		for i := 0; i <= len(v); i++ {
			switch {
			case i == len(v) || v[i] == ',' && depth == 0:
				names = append(names, v[start:i])
				start = i + 1
			case v[i] == '[':
				depth++
			case v[i] == ']':
				depth--
			}
		}
		for i, n := range names {
			n = strings.TrimSpace(n)
			if !strings.HasPrefix(n, "@") {
				n = "@" + n
			}
			names[i] = n
		}
		out = append(out, strings.Join(names, ","))
	}
	return out
}
