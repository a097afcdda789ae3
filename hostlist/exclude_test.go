package hostlist

import (
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func hosts(specs []Spec) []string {
	var h []string
	for _, s := range specs {
		h = append(h, s.Key())
	}
	return h
}

func TestExclude(t *testing.T) {
	all, err := ParseList("node[01-05],alice@web1,web1:2222,2/gpu1")
	require.NoError(t, err)
	for _, c := range []struct {
		out  string
		want []string
	}{
		{"node[02-04]", []string{"node01", "node05", "alice@web1", "web1:2222", "gpu1"}},
		{"web1", []string{"node01", "node02", "node03", "node04", "node05", "gpu1"}},
		{"bob@web1", []string{"node01", "node02", "node03", "node04", "node05", "alice@web1", "web1:2222", "gpu1"}},
		{"web1:2222,gpu1,nope", []string{"node01", "node02", "node03", "node04", "node05", "alice@web1"}},
	} {
		out, err := ParseList(c.out)
		require.NoError(t, err)
		require.Equal(t, c.want, hosts(Exclude(all, out)), c.out)
	}
}

// TestExcludeMatchesNodeset: pdsh's and clush's -x against ClusterShell's
// own answer, `nodeset -e SPEC -x EXCLUDE`, on ranges and lists.
func TestExcludeMatchesNodeset(t *testing.T) {
	if _, err := exec.LookPath("nodeset"); err != nil {
		t.Skip("nodeset (ClusterShell) is not installed")
	}
	for _, c := range [][2]string{
		{"node[01-05],gpu[1-3]", "node[02-04],gpu2"},
		{"rack[1-2]-n[01-04]", "rack1-n[02-03],rack2-n04"},
		{"n[1-20]", "n[5-25]"},
		{"a,b,c", "d"},
		{"x[001-010]", "x[001-010]"},
	} {
		out, err := exec.Command("nodeset", "-e", c[0], "-x", c[1]).Output()
		require.NoError(t, err, "nodeset -e %s -x %s", c[0], c[1])
		want := strings.Fields(string(out))
		all, err := ParseList(c[0])
		require.NoError(t, err)
		ex, err := ParseList(c[1])
		require.NoError(t, err)
		got := hosts(Exclude(all, ex))
		// nodeset prints a sorted set; drove keeps the order written.
		sort.Strings(got)
		sort.Strings(want)
		if len(want) == 0 {
			want = nil
		}
		require.Equal(t, want, got, "-x %s from %s", c[1], c[0])
	}
}
