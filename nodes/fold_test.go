package nodes

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFold(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{"", ""},
		{"web", "web"},
		{"node01 node02 node03 node04 node05 node06 node07 node08 node10", "node[01-08,10]"},
		{"node10 node9 node1 node2", "node[1-2,9-10]"},
		{"node5", "node5"},
		{"node5 node5", "node5"},
		{"gpu1 gpu2 gpu3 gpu4 gpu7 gpu9 gpu10", "gpu[1-4,7,9-10]"},
		{"rack1-n01 rack1-n02 rack2-n01", "rack1-n[01-02],rack2-n01"},
		{"node9 node01 node10", "node[01,10],node9"},
		{"a1b a2b a3c", "a[1-2]b,a3c"},
		{"local", "local"},
		{"web2 db1 web1", "db1,web[1-2]"},
		{"alice@node1 alice@node2", "alice@node[1-2]"},
		{"h1 h007 h008", "h1,h[007-008]"},
	} {
		require.Equal(t, c.want, Fold(strings.Fields(c.in)), c.in)
	}
}

// Unfolding a fold gives back the same set, for random names.
func TestFoldUnfolds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		var names []string
		for n := r.IntN(12); n > 0; n-- {
			pre := []string{"node", "gpu", "rack1-n", "x", ""}[r.IntN(5)]
			num := []string{"1", "2", "3", "9", "10", "01", "02", "010", "99", "100"}[r.IntN(10)]
			suf := []string{"", "", "-ib", "b"}[r.IntN(4)]
			names = append(names, pre+num+suf)
		}
		folded := Fold(names)
		got := unfold(t, folded)
		want := slices.Compact(slices.Sorted(slices.Values(names)))
		require.Equal(t, want, got, "names %q folded to %q", names, folded)
	}
}

// unfold is a small reference expander for Fold's own output (one range
// per name, commas between names and inside brackets).
func unfold(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for s != "" {
		i := strings.IndexAny(s, "[,")
		if i < 0 {
			out = append(out, s)
			break
		}
		if s[i] == ',' {
			out = append(out, s[:i])
			s = s[i+1:]
			continue
		}
		pre := s[:i]
		j := strings.IndexByte(s, ']')
		body := s[i+1 : j]
		rest := s[j+1:]
		k := strings.IndexByte(rest, ',')
		suf := rest
		if k >= 0 {
			suf, s = rest[:k], rest[k+1:]
		} else {
			s = ""
		}
		for _, part := range strings.Split(body, ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			if !isRange {
				out = append(out, pre+lo+suf)
				continue
			}
			for v := atoi(lo); v <= atoi(hi); v++ {
				d := itoa(v)
				for len(d) < len(lo) {
					d = "0" + d
				}
				out = append(out, pre+d+suf)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
