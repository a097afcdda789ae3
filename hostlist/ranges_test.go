package hostlist

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func keys(specs []Spec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.String()
	}
	return out
}

func TestParseListExpandsRanges(t *testing.T) {
	seq := func(prefix string, lo, hi int, format string) []string {
		var out []string
		for i := lo; i <= hi; i++ {
			out = append(out, prefix+fmt.Sprintf(format, i))
		}
		return out
	}
	var rack []string
	for r := 1; r <= 2; r++ {
		rack = append(rack, seq(fmt.Sprintf("rack%d-n", r), 1, 16, "%02d")...)
	}
	tests := []struct {
		in   string
		want []string
	}{
		{"node[01-64]", seq("node", 1, 64, "%02d")},
		{"gpu[1-4,7,9-10]", []string{"gpu1", "gpu2", "gpu3", "gpu4", "gpu7", "gpu9", "gpu10"}},
		{"rack[1-2]-n[01-16]", rack},
		{"4/node[01-03]", []string{"4/node01", "4/node02", "4/node03"}},
		{"alice@node[1-3]:2222", []string{"alice@node1:2222", "alice@node2:2222", "alice@node3:2222"}},
		{"node[01-03,05],gpu7", []string{"node01", "node02", "node03", "node05", "gpu7"}},
		{"n[8-10]", []string{"n8", "n9", "n10"}},
		{"n[098-101]", []string{"n098", "n099", "n100", "n101"}},
		{"n[007]", []string{"n007"}},
		{"[1-2].example.com", []string{"1.example.com", "2.example.com"}},
		{"a, b ,2/:", []string{"a", "b", "2/:"}},
		{"[::1]:2222,bob@[fe80::1%eth0]:22", []string{"[::1]:2222", "bob@[fe80::1%eth0]:22"}},
		{"n[1,1]", []string{"n1", "n1"}},
		{"web1", []string{"web1"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseList(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, keys(got))
		})
	}
}

func TestParseListErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"node[1-3", `bad node spec "node[1-3": missing ']'`},
		{"node1-3]", `bad node spec "node1-3]": ']' without '['`},
		{"n[[1]]", `bad node spec "n[[1]]": '[' inside a range`},
		{"n[]", `bad node spec "n[]": empty range "[]"`},
		{"n[a-b]", `bad node spec "n[a-b]": bad range "a-b" in "[a-b]": want N or N-M, N and M numbers`},
		{"n[3-1]", `bad node spec "n[3-1]": bad range "3-1" in "[3-1]": 3 is greater than 1`},
		{"n[1-010]", `bad node spec "n[1-010]": bad range "1-010" in "[1-010]": zero-padded bounds must have the same number of digits`},
		{"n[01-1]", `bad node spec "n[01-1]": bad range "01-1" in "[01-1]": zero-padded bounds must have the same number of digits`},
		{"n[1-]", `bad node spec "n[1-]": bad range "1-" in "[1-]": want N or N-M, N and M numbers`},
		{"n[1,,2]", `bad node spec "n[1,,2]": bad range "" in "[1,,2]": want N or N-M, N and M numbers`},
		{"a,,b", `bad node spec "a,,b": empty item in node list`},
		{"a,", `bad node spec "a,": empty item in node list`},
		{"", `bad node spec "": empty`},
		{"n[1-3]:99999", `bad node spec "n[1-3]:99999": "n1:99999": port out of range`},
		{"x[1-1000][1-1001]", `bad node spec "x[1-1000][1-1001]": expands to more than 1000000 nodes`},
		{"x[1-999999999999999]", `bad node spec "x[1-999999999999999]": expands to more than 1000000 nodes`},
		{"x[1-999999],y,z", `bad node spec "z": expands to more than 1000000 nodes`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseList(tt.in)
			require.EqualError(t, err, tt.msg)
			var se *SpecError
			require.ErrorAs(t, err, &se)
		})
	}
}

func TestParseFileRanges(t *testing.T) {
	in := "# slurm\nnode[01-03,05],gpu7\n4/rack[1-2]-n[1-2]  # comment\n"
	specs, err := ParseFile(strings.NewReader(in), "nodes.txt")
	require.NoError(t, err)
	assert.Equal(t, []string{"node01", "node02", "node03", "node05", "gpu7",
		"4/rack1-n1", "4/rack1-n2", "4/rack2-n1", "4/rack2-n2"}, keys(specs))

	_, err = ParseFile(strings.NewReader("web1\n\nnode[1-3\n"), "nodes.txt")
	require.EqualError(t, err, `nodes.txt:3: bad node spec "node[1-3": missing ']'`)
	require.NotContains(t, err.Error(), "\n")

	// The cap holds for the whole file, not line by line.
	_, err = ParseFile(strings.NewReader("a[1-600000]\nb[1-600000]\n"), "big.txt")
	require.EqualError(t, err, `big.txt:2: bad node spec "b[1-600000]": expands to more than 1000000 nodes`)
}

// clusterShell expands each pattern with ClusterShell's NodeSet (the
// library behind nodeset -e; Debian package clustershell), in one python
// process: the sorted unique names, or nil where ClusterShell rejects the
// pattern.
func clusterShell(t *testing.T, patterns []string) [][]string {
	t.Helper()
	const script = `
import sys
from ClusterShell.NodeSet import NodeSet
for line in sys.stdin:
    try:
        print("OK " + " ".join(NodeSet(line.rstrip("\n"))))
    except Exception:
        print("ERR")
`
	// Use the interpreter nodeset runs under: it has the library.
	python := "python3"
	if path, err := exec.LookPath("nodeset"); err == nil {
		if b, err := os.ReadFile(path); err == nil {
			if first, _, _ := strings.Cut(string(b), "\n"); strings.HasPrefix(first, "#!/") {
				python = strings.Fields(first[2:])[0]
			}
		}
	}
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = strings.NewReader(strings.Join(patterns, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("ClusterShell (apt install clustershell) not usable: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	require.Len(t, lines, len(patterns))
	res := make([][]string, len(lines))
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, "OK "); ok {
			res[i] = strings.Fields(rest)
		}
	}
	return res
}

// TestParseListAgreesWithNodeset compares expansions with ClusterShell's
// nodeset -e: the same set of names for every pattern nodeset accepts, and
// an error wherever nodeset gives one.
func TestParseListAgreesWithNodeset(t *testing.T) {
	patterns := []string{
		"node[01-64]", "gpu[1-4,7,9-10]", "rack[1-2]-n[01-16]", "node[01-03,05],gpu7",
		"n[8-10]", "n[08-10]", "n[098-101]", "n[0-10]", "n[00-01]", "n[007]", "[1-3]",
		"n[1-2]b[3-4]c", "alice@node[1-3]:2222", "a,b,c[1-2]", "n[9-10]x", "n[1,3-5,8]",
		"n[1-010]", "n[001-10]", "n[10-1]", "n[1-3", "n[]", "n[a-b]", "n[01-1]", "n[1-]",
		"n[1--2]", "a,,b", "n[7-007]", "n[1-01]", "n[01-100]",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		patterns = append(patterns, randomPattern(rng))
	}
	oracle := clusterShell(t, patterns)
	for i, p := range patterns {
		want := oracle[i]
		got, err := ParseList(p)
		if want == nil {
			assert.Error(t, err, "ClusterShell rejects %q, drove must too", p)
			continue
		}
		require.NoError(t, err, p)
		names := slices.Sorted(slices.Values(keys(got)))
		names = slices.Compact(names)
		slices.Sort(want)
		assert.Equal(t, want, names, p)
	}
}

// randomPattern builds a valid range pattern: up to 2 bracket groups of
// random spans, padded or not.
func randomPattern(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("h")
	for range 1 + rng.IntN(2) {
		b.WriteString("[")
		width := 0
		if rng.IntN(2) == 0 {
			width = 3
		}
		for i := range 1 + rng.IntN(3) {
			if i > 0 {
				b.WriteString(",")
			}
			lo := rng.IntN(150)
			hi := lo + rng.IntN(12)
			fmt.Fprintf(&b, "%0*d-%0*d", width, lo, width, hi)
		}
		b.WriteString("]x")
	}
	return b.String()
}

func TestFold(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"node03", "node01", "node02", "node10", "node05", "node04", "node06", "node07", "node08"}, "node[01-08,10]"},
		{[]string{"n1", "n2", "n10", "n2"}, "n[1-2,10]"},
		{[]string{"web", "db1", "db2", "web"}, "web,db[1-2]"},
		{[]string{"rack1-n01", "rack1-n02", "rack2-n01"}, "rack1-n[01-02],rack2-n01"},
		{[]string{"gpu7"}, "gpu7"},
		{nil, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Fold(tt.in), "%q", tt.in)
	}
}

// TestFoldExpandsBackToTheSet: for random sets of names, expanding Fold's
// output gives back the set. The seed is printed on failure.
func TestFoldExpandsBackToTheSet(t *testing.T) {
	seed := rand.Uint64()
	if s := os.Getenv("DROVE_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	n := 2000
	if testing.Short() {
		n = 200
	}
	for range n {
		var hosts []string
		for range rng.IntN(20) {
			hosts = append(hosts, randomHost(rng))
		}
		folded := Fold(hosts)
		want := slices.Compact(slices.Sorted(slices.Values(hosts)))
		if len(hosts) == 0 {
			require.Empty(t, folded)
			continue
		}
		got, err := ParseList(folded)
		require.NoError(t, err, "seed %d: %q folded to %q", seed, hosts, folded)
		names := slices.Compact(slices.Sorted(slices.Values(keys(got))))
		require.Equal(t, want, names, "seed %d (DROVE_SEED): %q folded to %q", seed, hosts, folded)
	}
}

func randomHost(rng *rand.Rand) string {
	prefixes := []string{"n", "node", "rack1-n", "gpu", "a.b", "x_"}
	suffixes := []string{"", "", "-ib", ".example.com"}
	h := prefixes[rng.IntN(len(prefixes))]
	switch rng.IntN(4) {
	case 0:
		h += fmt.Sprintf("%02d", rng.IntN(120))
	case 1:
		h += fmt.Sprint(rng.IntN(120))
	case 2:
		h += fmt.Sprintf("%03d", rng.IntN(12))
	}
	return h + suffixes[rng.IntN(len(suffixes))]
}
