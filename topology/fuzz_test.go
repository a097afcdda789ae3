package topology

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: any input parses or is refused with one *Error on one line
// (or a *RootError), never a panic or a hang; every route of a parsed
// tree is made of gateway sets that are not empty and do not hold the node.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"[routes]\nadmin: gw[1-2]\ngw[1-2]: n[1-8]\n",
		"[Main]\nadmin = g1\ng1: n1\n",
		"[DEFAULT]\ng1: n1\n[routes]\nadmin: g1\n",
		"[routes]\nadmin: g1\ng1: admin\n",
		"[routes]\nadmin:\n",
		"[routes]\nadmin: g1\n  g2\n\n  g3\n",
		"x\n[routes]\n",
		"[routes]\nadmin: g[1-2]\ng1: n1\ng[1-2]: n2\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		top, err := Parse(strings.NewReader(s), "t.conf", nil)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %q is not an *Error", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %q is not one line", err)
			}
			return
		}
		tr, err := top.Tree("admin")
		if err != nil {
			var re *RootError
			if !errors.As(err, &re) {
				t.Fatalf("error %q is not a *RootError", err)
			}
			return
		}
		for _, n := range append(tr.Gateways(), "n1", "admin") {
			for _, hop := range tr.Route(n) {
				if len(hop) == 0 {
					t.Fatalf("route to %s has an empty hop", n)
				}
				for _, g := range hop {
					if g == n {
						t.Fatalf("route to %s goes through itself", n)
					}
				}
			}
		}
	})
}
