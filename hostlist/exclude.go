package hostlist

// Exclude returns specs without the nodes that out names, as pdsh's and
// clush's -x do: a spec of out with only a host removes every spec of that
// host (whatever its slots, user or port); one with a user or a port
// removes only the specs that have the same. The order of specs is kept.
func Exclude(specs, out []Spec) []Spec {
	if len(out) == 0 {
		return specs
	}
	var kept []Spec
	for _, s := range specs {
		if !excluded(s, out) {
			kept = append(kept, s)
		}
	}
	return kept
}

func excluded(s Spec, out []Spec) bool {
	for _, o := range out {
		if o.Host == s.Host && (o.User == "" || o.User == s.User) && (o.Port == 0 || o.Port == s.Port) {
			return true
		}
	}
	return false
}
