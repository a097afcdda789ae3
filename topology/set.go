package topology

import (
	"slices"

	"github.com/drove-dev/drove/hostlist"
)

// set is a set of machine names.
type set map[string]struct{}

func (s set) has(n string) bool { _, ok := s[n]; return ok }

// within reports s ⊆ o (true for an empty s, as ClusterShell's "in").
func (s set) within(o set) bool {
	if len(s) > len(o) {
		return false
	}
	for n := range s {
		if !o.has(n) {
			return false
		}
	}
	return true
}

func (s set) equal(o set) bool { return len(s) == len(o) && s.within(o) }

func (s set) meets(o set) bool {
	if len(s) > len(o) {
		s, o = o, s
	}
	for n := range s {
		if o.has(n) {
			return true
		}
	}
	return false
}

func (s set) addAll(o set) {
	for n := range o {
		s[n] = struct{}{}
	}
}

func (s set) minus(o set) set {
	out := set{}
	for n := range s {
		if !o.has(n) {
			out[n] = struct{}{}
		}
	}
	return out
}

// names is s sorted.
func (s set) names() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// String is s folded as nodeset folds it.
func (s set) String() string { return hostlist.Fold(s.names()) }
