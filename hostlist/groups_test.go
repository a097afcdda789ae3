package hostlist

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// groupDir writes a ClusterShell configuration directory: groups.conf
// naming def as the default source (none when ""), and groups.d/ with
// files.
func groupDir(t *testing.T, def string, files map[string]string) (string, GroupFiles) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "groups.d"), 0o755))
	conf := "[Main]\nconfdir: $CFGDIR/groups.conf.d\nautodir: $CFGDIR/groups.d\n"
	if def != "" {
		conf += "default: " + def + "\n"
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "groups.conf"), []byte(conf), 0o644))
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "groups.d", name), []byte(content), 0o644))
	}
	return dir, GroupFiles{Dirs: []string{filepath.Join(dir, "groups.d")}, Confs: []string{filepath.Join(dir, "groups.conf")}}
}

const clusterYAML = `# roles first: the first source of the first file
roles:
  compute: '@racks:rack[1-2]!n3'
  list: [n1, 'n[5-6]']
  ws: "n7 n8"
  gpu: '@racks:rack2&n[6-20]'
  odd: 'n[1-4]^n[3-6]'
racks:
  rack1: 'n[1-4]'
  rack2: 'n[5-8]'
  nest: '@rack1,@roles:ws'
  all: 'n[1-9]'
  empty:
`

func TestGroupsExpand(t *testing.T) {
	_, files := groupDir(t, "racks", map[string]string{"cluster.yaml": clusterYAML, "other.yaml": "other:\n  x: 'z[1-2]'\n"})
	g := NewGroups(files)
	for expr, want := range map[string]string{
		"@rack1":              "n1 n2 n3 n4",
		"@roles:compute":      "n1 n2 n4 n5 n6 n7 n8",
		"@roles:list":         "n1 n5 n6",
		"@roles:ws":           "n7 n8",
		"@roles:gpu":          "n6 n7 n8",
		"@roles:odd":          "n1 n2 n5 n6",
		"@nest":               "n1 n2 n3 n4 n7 n8",
		"@*":                  "n1 n2 n3 n4 n5 n6 n7 n8 n9",
		"@roles:*":            "n1 n2 n7 n8", // the values of compute gpu list odd ws, joined
		"@rack[1-2]!n2":       "n1 n3 n4 n5 n6 n7 n8",
		"@other:x,a":          "z1 z2 a",
		"@empty":              "",
		"n[1-3],@rack1!@nest": "",
	} {
		got, err := g.Expand(expr)
		require.NoError(t, err, expr)
		require.ElementsMatch(t, strings.Fields(want), got, expr)
	}
	srcs, err := g.Sources()
	require.NoError(t, err)
	require.Equal(t, []string{"racks", "roles", "other"}, srcs)
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return []string{}
	}
	return s
}

// TestGroupsDefaultSource: groups.conf's default names the source of a
// bare @group; without one (or naming a source no YAML file has, such as
// the stock "local"), the first source of the first file (by name).
func TestGroupsDefaultSource(t *testing.T) {
	files := map[string]string{"a.yaml": "first:\n  g: a1\n", "b.yaml": "second:\n  g: b1\n"}
	for def, want := range map[string]string{"": "a1", "second": "b1", "local": "a1"} {
		_, gf := groupDir(t, def, files)
		got, err := NewGroups(gf).Expand("@g")
		require.NoError(t, err)
		require.Equal(t, []string{want}, got, "default %q", def)
	}
}

// TestGroupsInNodeLists: "@group" in a node list, with slots and
// operators, and its errors.
func TestGroupsInNodeLists(t *testing.T) {
	_, files := groupDir(t, "racks", map[string]string{"cluster.yaml": clusterYAML})
	g := NewGroups(files)
	specs, err := g.ParseList("4/@rack1!n2,alice@web1,@roles:ws")
	require.NoError(t, err)
	require.Equal(t, []string{"4/n1", "4/n3", "4/n4", "alice@web1", "n7", "n8"}, strs(specs))

	specs, err = g.ParseFile(strings.NewReader("@rack2 # the second rack\nn[1-9]&@rack1\n"), "nodes.txt")
	require.NoError(t, err)
	require.Equal(t, []string{"n5", "n6", "n7", "n8", "n1", "n2", "n3", "n4"}, strs(specs))

	_, err = g.ParseList("@nosuch")
	require.EqualError(t, err, `bad node spec "@nosuch": unknown group @nosuch in source "racks" (read `+files.Dirs[0]+`/cluster.yaml)`)
	var ue *UnknownGroupError
	require.ErrorAs(t, err, &ue)
	_, err = g.ParseFile(strings.NewReader("n1\n@nosrc:x\n"), "nodes.txt")
	require.ErrorContains(t, err, `nodes.txt:2: bad node spec "@nosrc:x": unknown group source "nosrc"`)

	_, err = (*Groups)(nil).ParseList("@rack1")
	require.ErrorIs(t, err, ErrNoGroups)

	// Without operators or groups a list means what it always meant.
	specs, err = g.ParseList("n[1-3],n1")
	require.NoError(t, err)
	require.Equal(t, []string{"n1", "n2", "n3", "n1"}, strs(specs))
}

func strs(specs []Spec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.String())
	}
	return out
}

// TestGroupFileErrors: a bad group file is one error naming the file and
// the line, whatever group is asked for.
func TestGroupFileErrors(t *testing.T) {
	for _, c := range []struct {
		yaml, want string
	}{
		{"src:\n  g: [n1\n", `bad.yaml:2: did not find expected ',' or ']'`},
		{"src:\n  g: 'n1'\n   h: n2\n", `bad.yaml:2: did not find expected key`},
		{"src:\n  g: n1\n\tx\n", `bad.yaml:2: found a tab character that violates indentation`},
		{"- a\n- b\n", `bad.yaml:1: not a map of group sources`},
		{"src: 'n1'\n", `bad.yaml:1: group source "src" is not a map of groups`},
		{"src:\n  12: n1\n", `bad.yaml:2: group name "12" in source "src" is not a string (add quotes?)`},
		{"src:\n  g: 5\n", `bad.yaml:2: group "g" in source "src": value "5" is not a string or a list of strings`},
		{"src:\n  g: [n1, [n2]]\n", `bad.yaml:2: group "g" in source "src": list item "" is not a string`},
		{"src:\n  g: 'n[1-'\n", `bad.yaml:2: group @src:g: "n[1-": missing ']'`},
		{"src:\n  g: 'n[3-1]'\n", `bad.yaml:2: group @src:g: "n[3-1]": bad range "3-1"`},
		{"src:\n  g: 'n1!'\n", `bad.yaml:2: group @src:g: "n1!": missing node after or before an operator`},
		{"src:\n  g: '@h'\n  h: '@g'\n", `bad.yaml:2: group @src:g: refers to itself (@src:g -> @src:h -> @src:g)`},
		{"src:\n  g: '@nope'\n", `bad.yaml:2: group @src:g: unknown group @nope in source "src"`},
		{"src:\n  g: n1\n\nsrc:\n  h: n2\n", `bad.yaml:4: group source "src" is already defined in `},
	} {
		dir, files := groupDir(t, "", map[string]string{"bad.yaml": c.yaml})
		_, err := NewGroups(files).ParseList("@g")
		require.Error(t, err, c.yaml)
		msg := strings.TrimPrefix(err.Error(), filepath.Join(dir, "groups.d")+"/")
		require.True(t, strings.HasPrefix(msg, c.want), "%q: got %q, want %q", c.yaml, msg, c.want)
		require.NotContains(t, err.Error(), "\n")
	}

	// A source defined in two files is refused, as ClusterShell does.
	_, files := groupDir(t, "", map[string]string{"a.yaml": "src:\n  g: n1\n", "b.yaml": "x: {}\nsrc:\n  h: n2\n"})
	_, err := NewGroups(files).ParseList("@g")
	require.ErrorContains(t, err, `b.yaml:2: group source "src" is already defined in `)
	require.ErrorContains(t, err, `a.yaml:1`)
}

// TestGroupsMatchNodeset: ClusterShell's own nodeset, pointed at the same
// files with CLUSTERSHELL_CFGDIR, expands the same node sets to the same
// nodes: fixed cases, then random group files and random node sets with
// groups, ranges and the four operators.
func TestGroupsMatchNodeset(t *testing.T) {
	if _, err := exec.LookPath("nodeset"); err != nil {
		t.Skip("nodeset (ClusterShell) is not installed")
	}
	dir, files := groupDir(t, "racks", map[string]string{"cluster.yaml": clusterYAML, "other.yaml": "other:\n  x: 'z[1-2]'\n"})
	for _, expr := range []string{"@rack1", "@roles:compute", "@roles:list", "@roles:gpu", "@roles:odd", "@nest", "@*", "@roles:*",
		"@rack[1-2]!n2", "@other:x,a", "n[1-3],@rack1!@nest", "@rack1&@roles:compute", "@rack1^@rack2^n9"} {
		requireSameAsNodeset(t, dir, NewGroups(files), expr)
	}

	// Random rounds ask nodeset's own library (what nodeset -e runs,
	// under the interpreter its script names) for many sets at once:
	// one process per round instead of one per set.
	python := nodesetPython(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	rounds := 12
	if testing.Short() {
		rounds = 3
	}
	for round := 0; round < rounds; round++ {
		srcs := []string{"s0", "s1", "s2"}
		var y strings.Builder
		names := map[string][]string{}
		for si, s := range srcs {
			fmt.Fprintf(&y, "%s:\n", s)
			for gi := 0; gi < 1+r.IntN(4); gi++ {
				name := fmt.Sprintf("g%d", gi)
				// A value refers only to groups defined before it (no
				// cycles), of this source or an earlier one.
				fmt.Fprintf(&y, "  %s: '%s'\n", name, randomSet(r, srcs[:si+1], names, s, 3))
				names[s] = append(names[s], name)
			}
		}
		dir, files := groupDir(t, srcs[r.IntN(len(srcs))], map[string]string{"f.yaml": y.String()})
		var exprs []string
		for i := 0; i < 25; i++ {
			exprs = append(exprs, randomSet(r, srcs, names, "", 4))
		}
		exprs = append(exprs, "@*", "@s1:*", "@s2:*")
		wants := nodesetLibrary(t, python, dir, exprs)
		g := NewGroups(files)
		for i, expr := range exprs {
			got, err := g.Expand(expr)
			require.NoError(t, err, "%q; group files:\n%s", expr, y.String())
			require.ElementsMatch(t, wants[i], got, "%q; group files:\n%s", expr, y.String())
		}
	}
}

// nodesetPython is the interpreter that runs the nodeset script.
func nodesetPython(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("nodeset")
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(strings.TrimPrefix(first, "#!"))
	require.NotEmpty(t, fields, "nodeset's first line %q", first)
	return fields[0]
}

// nodesetLibrary expands each of exprs with ClusterShell's NodeSet over
// the configuration in cfgdir.
func nodesetLibrary(t *testing.T, python, cfgdir string, exprs []string) [][]string {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(python, "-c", `
import sys
from ClusterShell.NodeSet import NodeSet
for line in sys.stdin:
    print(" ".join(NodeSet(line.strip())))
`)
	cmd.Env = append(os.Environ(), "CLUSTERSHELL_CFGDIR="+cfgdir, "HOME="+home, "XDG_CONFIG_HOME="+home)
	cmd.Stdin = strings.NewReader(strings.Join(exprs, "\n") + "\n")
	out, err := cmd.Output()
	require.NoError(t, err, "ClusterShell's NodeSet on %q", exprs)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	require.Len(t, lines, len(exprs))
	var sets [][]string
	for _, l := range lines {
		sets = append(sets, strings.Fields(l))
	}
	return sets
}

// randomSet writes a node set of up to n terms: ranges of a few prefixes
// and references to the groups in names (own: the source a bare name is
// looked up in, "" for the default: always qualified then).
func randomSet(r *rand.Rand, srcs []string, names map[string][]string, own string, n int) string {
	var b strings.Builder
	for i := 0; i < 1+r.IntN(n); i++ {
		if i > 0 {
			b.WriteByte(",!&^"[r.IntN(4)])
		}
		src := srcs[r.IntN(len(srcs))]
		if len(names[src]) > 0 && r.IntN(2) == 0 {
			gname := names[src][r.IntN(len(names[src]))]
			if src == own && r.IntN(2) == 0 {
				fmt.Fprintf(&b, "@%s", gname)
			} else {
				fmt.Fprintf(&b, "@%s:%s", src, gname)
			}
			continue
		}
		p := string("abn"[r.IntN(3)])
		lo := r.IntN(6)
		switch r.IntN(3) {
		case 0:
			fmt.Fprintf(&b, "%s%d", p, lo)
		case 1:
			fmt.Fprintf(&b, "%s[%d-%d]", p, lo, lo+r.IntN(5))
		default:
			fmt.Fprintf(&b, "%s[%d,%d-%d]", p, lo, lo+2, lo+2+r.IntN(3))
		}
	}
	return b.String()
}

// requireSameAsNodeset compares g.Expand(expr) with nodeset -e as sets.
func requireSameAsNodeset(t *testing.T, cfgdir string, g *Groups, expr string) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command("nodeset", "-e", expr)
	cmd.Env = append(os.Environ(), "CLUSTERSHELL_CFGDIR="+cfgdir, "HOME="+home, "XDG_CONFIG_HOME="+home)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "nodeset -e %q: %s", expr, out)
	want := strings.Fields(string(out))
	got, err := g.Expand(expr)
	require.NoError(t, err, "%q (nodeset: %q)", expr, want)
	got = slices.Sorted(slices.Values(got))
	slices.Sort(want)
	require.Equal(t, nilIfEmpty(want), nilIfEmpty(got), "%q; group files: %s", expr, cfgdir)
}

// TestGroupsNeverReadUnasked: Groups reads only the files it is given.
func TestGroupsNeverReadUnasked(t *testing.T) {
	g := NewGroups(GroupFiles{})
	_, err := g.Expand("@compute")
	var ue *UnknownGroupError
	require.True(t, errors.As(err, &ue), "%v", err)
	require.Contains(t, err.Error(), "no group sources (no group file found)")
}

// FuzzGroupFile: any group file either loads, and then every group of
// every source expands or fails with one line, or fails with one
// *GroupFileError naming the file.
func FuzzGroupFile(f *testing.F) {
	for _, s := range []string{clusterYAML, "src:\n  g: [n1\n", "a: {g: '@g'}\n", "- x\n", "a: &x {g: n1}\nb: *x\n", "a:\n  g: 'n[1-3]!n2&n[2-9]^m1'\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "f.yaml"), []byte(content), 0o644))
		g := NewGroups(GroupFiles{Dirs: []string{dir}})
		srcs, err := g.Sources()
		if err != nil {
			var fe *GroupFileError
			require.ErrorAs(t, err, &fe)
			require.True(t, strings.HasPrefix(err.Error(), filepath.Join(dir, "f.yaml")), "%q", err)
			require.NotContains(t, err.Error(), "\n")
			return
		}
		for _, s := range srcs {
			for _, name := range g.sources[s].order {
				if _, err := g.Expand("@" + s + ":" + name); err != nil {
					require.NotContains(t, err.Error(), "\n")
				}
			}
		}
	})
}

// TestParseListOperatorsMatchNodeset: node lists with nodeset's operators
// and no groups name the same set of hosts as ClusterShell's NodeSet says
// (ParseList keeps a host listed twice, for its slots; compared as sets).
func TestParseListOperatorsMatchNodeset(t *testing.T) {
	if _, err := exec.LookPath("nodeset"); err != nil {
		t.Skip("nodeset (ClusterShell) is not installed")
	}
	python := nodesetPython(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	var exprs []string
	for i := 0; i < 200; i++ {
		exprs = append(exprs, randomSet(r, []string{"none"}, nil, "", 6))
	}
	dir, _ := groupDir(t, "", nil)
	wants := nodesetLibrary(t, python, dir, exprs)
	t.Logf("e.g. %q is %q", exprs[0], wants[0])
	for i, expr := range exprs {
		specs, err := ParseList(expr)
		require.NoError(t, err, expr)
		var got []string
		for _, s := range specs {
			got = append(got, s.Host)
		}
		got = slices.Compact(slices.Sorted(slices.Values(got)))
		require.ElementsMatch(t, wants[i], got, expr)
	}
}
