package hostlist

// Exclude returns specs without the nodes that out names, as pdsh's and
// clush's -x do: a spec of out with only a host removes every spec of that
// host (whatever its slots, user or port); one with a user or a port
// removes only the specs that have the same. The order of specs is kept.
// It takes time linear in len(specs) + len(out).
func Exclude(specs, out []Spec) []Spec {
	if len(out) == 0 {
		return specs
	}
	idx := index(out)
	var kept []Spec
	for _, s := range specs {
		if !idx.matches(s) {
			kept = append(kept, s)
		}
	}
	return kept
}

// Intersect returns the specs of specs that in names (matched as Exclude
// matches them), in order.
func Intersect(specs, in []Spec) []Spec {
	idx := index(in)
	var kept []Spec
	for _, s := range specs {
		if idx.matches(s) {
			kept = append(kept, s)
		}
	}
	return kept
}

// specIndex holds specs by host, for matching as Exclude does.
type specIndex map[string][]Spec

func index(specs []Spec) specIndex {
	idx := make(specIndex, len(specs))
	for _, o := range specs {
		idx[o.Host] = append(idx[o.Host], o)
	}
	return idx
}

// matches reports whether some spec of the index names s: the same host,
// and the same user and port where the index's spec gives them.
func (idx specIndex) matches(s Spec) bool {
	for _, o := range idx[s.Host] {
		if (o.User == "" || o.User == s.User) && (o.Port == 0 || o.Port == s.Port) {
			return true
		}
	}
	return false
}
