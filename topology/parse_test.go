package topology

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

func tree(t *testing.T, text, root string) (*Tree, error) {
	t.Helper()
	top, err := Parse(strings.NewReader(text), "topology.conf", nil)
	if err != nil {
		return nil, err
	}
	return top.Tree(root)
}

// TestRoutes: two levels of gateways, a node outside the tree, the
// gateways themselves, and the older [Main] section.
func TestRoutes(t *testing.T) {
	const conf = `# two levels
[routes]
admin: gw[1-2]
gw[1-2]: rack[1-4]
rack[1-2]: n[01-08]
rack[3-4] = m[1-4]
`
	tr, err := tree(t, conf, "admin")
	require.NoError(t, err)
	require.Equal(t, [][]string{{"gw1", "gw2"}, {"rack1", "rack2"}}, tr.Route("n05"))
	require.Equal(t, [][]string{{"gw1", "gw2"}, {"rack3", "rack4"}}, tr.Route("m4"))
	require.Equal(t, [][]string{{"gw1", "gw2"}}, tr.Route("rack3"))
	require.Empty(t, tr.Route("gw2"))    // the controller's own destination
	require.Empty(t, tr.Route("other1")) // not in the tree: reached directly
	require.Empty(t, tr.Route("admin"))  // the root itself
	require.Equal(t, []string{"gw1", "gw2", "rack1", "rack2", "rack3", "rack4"}, tr.Gateways())

	// Rooted at a gateway, as that gateway sees the tree.
	tr, err = tree(t, conf, "gw2")
	require.NoError(t, err)
	require.Equal(t, [][]string{{"rack1", "rack2"}}, tr.Route("n01"))
	require.Empty(t, tr.Route("rack1"))

	tr, err = tree(t, "[Main]\nadmin: g1\ng1: n1\n", "admin")
	require.NoError(t, err)
	require.Equal(t, [][]string{{"g1"}}, tr.Route("n1"))
}

// TestRootMissing: a controller whose name the file does not hold is a
// *RootError naming the file and the name.
func TestRootMissing(t *testing.T) {
	_, err := tree(t, "[routes]\nadmin: g1\n", "laptop")
	var re *RootError
	require.ErrorAs(t, err, &re)
	require.Equal(t, `topology topology.conf: this machine, "laptop" (ClusterShell roots the tree at its short host name), is in no route: add a line 'laptop: GATEWAYS'`, err.Error())
}

// TestBadFiles: each refusal is one *Error naming the file and the line.
func TestBadFiles(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"admin: g1\n", `topology.conf:1: "admin: g1" before any section header`},
		{"[routes]\nadmin g1\n", `topology.conf:2: "admin g1" is not 'NODESET: NODESET'`},
		{"[routes]\nadmin: g1\nadmin: g2\n", `topology.conf:3: "admin" is a source a second time`},
		{"[routes]\n[routes]\n", `topology.conf:2: section [routes] a second time`},
		{"[other]\nadmin: g1\n", `topology.conf: no [routes] section`},
		{"[routes]\nadmin: g1\ng1: admin\n", `topology.conf:3: "g1: admin": a loop`},
		{"[routes]\nadmin: g[1-2]\ng[1-3]: n1\n", `topology.conf:3: "g[1-3]: n1": a convergent path: the source holds all of line 2's destination and more`},
		{"[routes]\nadmin: g1\nh1: g1\n", `topology.conf:3: "h1: g1": a convergent path: line 2's source reaches some of the same machines`},
		{"[routes]\nadmin: admin,g1\n", `topology.conf:2: "admin: admin,g1": source and destination overlap`},
		{"[routes]\nadmin: g[1-2]\ng1: n1\ng[1-2]: n2\n", `topology.conf:4: "g[1-2]: n2": with line 3: route sources overlap`},
		{"[routes]\nadmin: g[1-x]\n", `topology.conf:2: destination "g[1-x]": bad node spec`},
		{"[routes]\nadmin: g1 g2\n", `topology.conf:2: destination "g1 g2": `},
		{"[routes]\n0\r: 0\n", `topology.conf:2: "0" is not 'NODESET: NODESET'`}, // a lone CR ends a line, as in Python
		{"[routes]\nadmin: g\x01\n", `topology.conf:2: destination "g\x01": `},
		{"[routes]\nadmin: 4/g1\n", `topology.conf:2: destination "4/g1": "4/g1" is not a machine's name`},
		{"[routes]\nadmin: g1\n  g2\n", `topology.conf:2: a value continued on an indented line`},
		{"[routes]\nadmin: %(x)s\n", `topology.conf:2: '%' (ClusterShell's configparser interpolates it`},
		{"[routes]\ng1!g1: n1\n", `topology.conf:2: source "g1!g1" names no machine`},
		{"[routes]\nadmin: @nogroups\n", `topology.conf:2: destination "@nogroups"`},
	} {
		_, err := tree(t, c.text, "admin")
		var te *Error
		require.ErrorAs(t, err, &te, "%q", c.text)
		require.Contains(t, err.Error(), "topology "+c.want, "%q", c.text)
		require.NotContains(t, err.Error(), "\n")
	}
	// The line of a route that overlaps is the line of that route, not of
	// the one before it.
	_, err := tree(t, "[routes]\n\n# x\nadmin: g1\n\n\ng1: admin\n", "admin")
	var te *Error
	require.True(t, errors.As(err, &te))
	require.Equal(t, 7, te.Line)
}

// TestDefaultSection: [DEFAULT]'s lines are routes of [routes] too, as
// configparser's items() gives them; a CRLF file, and a CR one, read as an
// LF one.
func TestDefaultSection(t *testing.T) {
	tr, err := tree(t, "[DEFAULT]\r\ng1: n[1-2]\r\n[routes]\r\nadmin = g1\r\n", "admin")
	require.NoError(t, err)
	require.Equal(t, [][]string{{"g1"}}, tr.Route("n2"))
	tr, err = tree(t, "[routes]\radmin: g1\rg1: n1", "admin")
	require.NoError(t, err)
	require.Equal(t, [][]string{{"g1"}}, tr.Route("n1"))
}

// TestTooManyNames: a file whose sets hold more than MaxNames names in all
// is refused at the line that passes the bound. (Slow: hostlist expands
// about 100,000 names a second.)
func TestTooManyNames(t *testing.T) {
	testkit.Slow(t)
	var b strings.Builder
	b.WriteString("[routes]\n")
	for i := range 3 {
		fmt.Fprintf(&b, "g%d: n%d-[1-400000]\n", i, i)
	}
	_, err := tree(t, b.String(), "g0")
	require.EqualError(t, err, "topology topology.conf:4: the file's node sets hold more than 1000000 names in all")
}
