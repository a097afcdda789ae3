package topology

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// clusterShellPython is a python3 that imports ClusterShell (Debian's
// python3-clustershell lives in /usr/lib/python3/dist-packages, which a
// python3 of pyenv's does not see).
func clusterShellPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import ClusterShell.Topology").Run() == nil {
			return py
		}
	}
	t.Skip("no python3 with ClusterShell (apt-get install clustershell)")
	return ""
}

// genTopology writes a random topology file: mostly a well-formed tree of
// gateways, with mistakes thrown in (loops, convergent paths, duplicate
// keys, missing sections, lines that are no route).
func genTopology(r *rand.Rand) (text string, names []string) {
	pools := [][]string{{"admin"}, {"g1", "g2", "g3"}, {"h1", "h2", "h3", "h4"}, {"n1", "n2", "n3", "n4", "n5", "n6"}}
	for _, p := range pools {
		names = append(names, p...)
	}
	pick := func(p []string) string {
		switch r.IntN(5) {
		case 0:
			return p[r.IntN(len(p))]
		case 1:
			a := r.IntN(len(p))
			b := a + r.IntN(len(p)-a)
			if a == b {
				return p[a]
			}
			return fmt.Sprintf("%s[%s-%s]", p[0][:1], p[a][1:], p[b][1:])
		case 2:
			return p[0] + "," + p[len(p)-1]
		case 3:
			return fmt.Sprintf("%s[1-%d]!%s", p[0][:1], len(p), p[r.IntN(len(p))])
		}
		return fmt.Sprintf("%s[1-%d]", p[0][:1], len(p))
	}
	var b strings.Builder
	if r.IntN(12) == 0 {
		b.WriteString("admin: g1\n")
	}
	if r.IntN(6) == 0 {
		b.WriteString("[DEFAULT]\n")
		fmt.Fprintf(&b, "%s: %s\n", pick(pools[2]), pick(pools[3]))
	}
	switch r.IntN(10) {
	case 0:
		b.WriteString("[Main]\n")
	case 1:
		b.WriteString("[other]\n")
	default:
		b.WriteString("# routes\n[routes]\n")
	}
	delim := func() string {
		switch r.IntN(6) {
		case 0:
			return " = "
		case 1:
			return ":"
		}
		return ": "
	}
	// chunks splits p into up to k runs of neighbours, written as ranges.
	chunks := func(p []string, k int) [][]string {
		var out [][]string
		for len(p) > 0 {
			n := 1 + r.IntN(len(p))
			if len(out) == k-1 {
				n = len(p)
			}
			out = append(out, p[:n])
			p = p[n:]
		}
		return out
	}
	write := func(p []string) string {
		if len(p) == 1 {
			return p[0]
		}
		if r.IntN(2) == 0 {
			return strings.Join(p, ",")
		}
		return fmt.Sprintf("%s[%s-%s]", p[0][:1], p[0][1:], p[len(p)-1][1:])
	}
	// A well-formed tree: admin reaches some g; each source (a set of g,
	// or of h) reaches its own run of the next level.
	var lines []string
	srcs := [][]string{{"admin"}}
	for lvl := 1; lvl < 4; lvl++ {
		var next [][]string
		kids := chunks(pools[lvl][:1+r.IntN(len(pools[lvl]))], len(srcs))
		for i, c := range kids {
			if i >= len(srcs) {
				break
			}
			lines = append(lines, write(srcs[i])+delim()+write(c))
			if r.IntN(3) == 0 && len(c) > 1 {
				next = append(next, chunks(c, len(c))...) // each gateway its own source
			} else {
				next = append(next, c)
			}
		}
		srcs = next
	}
	r.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	// Mistakes, now and then.
	for range r.IntN(3) {
		if r.IntN(3) != 0 {
			continue
		}
		switch r.IntN(6) {
		case 0:
			lvl := r.IntN(4)
			lines = append(lines, pick(pools[lvl])+delim()+pick(pools[r.IntN(4)]))
		case 1:
			if len(lines) > 0 {
				lines = append(lines, lines[r.IntN(len(lines))])
			}
		case 2:
			lines = append(lines, pick(pools[r.IntN(4)])+" "+pick(pools[3]))
		case 3:
			lines = append(lines, pick(pools[r.IntN(3)])+delim())
		case 4:
			lines = append(lines, "", "; a comment", "# another")
		case 5:
			lvl := 1 + r.IntN(2)
			lines = append(lines, pick(pools[lvl])+delim()+pick(pools[lvl-1]))
		}
	}
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	if r.IntN(20) == 0 {
		b.WriteString("[routes]\n")
	}
	return b.String(), names
}

type oracleQuery struct {
	Path  string   `json:"path"`
	Root  string   `json:"root"`
	Nodes []string `json:"nodes"`
}

type oracleAnswer struct {
	Error  string                `json:"error"`
	Routes map[string][][]string `json:"routes"`
}

// TestRoutesAsClusterShell: on generated topology files, drove refuses
// the files ClusterShell's parser refuses and gives every node the route
// ClusterShell's router gives it. The one difference: sources that
// overlap without being equal, which drove refuses (ErrOverlappingSources)
// and ClusterShell routes by load.
func TestRoutesAsClusterShell(t *testing.T) {
	py := clusterShellPython(t)
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(23, 1))
	n := 120 // the quick tier's share; the slow tier checks many more
	if testkit.SlowTier() {
		n = 3000
	}
	var (
		qs    []oracleQuery
		texts []string
	)
	for i := range n {
		text, names := genTopology(r)
		path := filepath.Join(dir, fmt.Sprintf("t%03d.conf", i))
		require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
		root := "admin"
		switch r.IntN(8) {
		case 0:
			root = names[r.IntN(len(names))]
		case 1:
			root = "elsewhere"
		}
		qs = append(qs, oracleQuery{Path: path, Root: root, Nodes: append(slices.Clone(names), "x9")})
		texts = append(texts, text)
	}
	in, err := json.Marshal(qs)
	require.NoError(t, err)
	cmd := exec.Command(py, "testdata/oracle.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	var answers []oracleAnswer
	require.NoError(t, json.Unmarshal(out, &answers))
	require.Len(t, answers, n)

	var accepted, refused, overlap int
	for i, q := range qs {
		want := answers[i]
		tr, err := parseTree(q.Path, q.Root)
		if errors.Is(err, ErrOverlappingSources) && want.Error == "" {
			overlap++
			continue
		}
		if want.Error != "" {
			require.Error(t, err, "ClusterShell refuses (%s) what drove accepts, root %q:\n%s", want.Error, q.Root, texts[i])
			refused++
			continue
		}
		require.NoError(t, err, "drove refuses what ClusterShell accepts, root %q:\n%s", q.Root, texts[i])
		accepted++
		for _, node := range q.Nodes {
			got := tr.Route(node)
			w := want.Routes[node]
			if len(w) == 0 {
				w = nil
			}
			require.Equal(t, w, got, "route to %s, root %q:\n%s", node, q.Root, texts[i])
		}
	}
	t.Logf("%d files: %d accepted, %d refused by both, %d with overlapping sources", n, accepted, refused, overlap)
	require.Greater(t, accepted, n/5, "the generator makes too few good files to test routes")
	require.Greater(t, refused, n/10, "the generator makes too few bad files to test refusals")
}

func parseTree(path, root string) (*Tree, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	top, err := Parse(f, path, nil)
	if err != nil {
		return nil, err
	}
	return top.Tree(root)
}
