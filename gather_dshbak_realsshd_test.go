//go:build slow && unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/require"
)

// TestGatherMatchesDshbak: drove -b groups the nodes' outputs as pdsh's
// "dshbak -c" groups the same run's labelled lines: the same sets of nodes
// under the same outputs, folded the same way. Each of 10 real sshd nodes
// gets its index from sshd (SetEnv), so the outputs differ by node.
func TestGatherMatchesDshbak(t *testing.T) {
	dshbak, err := exec.LookPath("dshbak")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("dshbak (pdsh) is missing (.ci/run installs it)")
		}
		t.Skip("dshbak (pdsh) is not installed")
	}
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 10, NodeConfig: func(i int) []string {
		return []string{fmt.Sprintf("SetEnv DROVE_TEST_I=%d", i)}
	}})
	job := `i=$DROVE_TEST_I; echo "group $((i % 3))"; [ $((i % 2)) = 0 ] && echo even; echo "a  line with  blanks"`

	labelled := drove(t, nil, nil, "-F", c.SSHConfig, "-N", c.NodesFile, "--tag", "-E", job)
	require.Equal(t, exitOK, labelled.code, labelled.stderr)
	cmd := exec.Command(dshbak, "-c")
	cmd.Stdin = strings.NewReader(labelled.stdout)
	want, err := cmd.Output()
	require.NoError(t, err)

	gathered := drove(t, nil, nil, "-F", c.SSHConfig, "-N", c.NodesFile, "-b", "-E", job)
	require.Equal(t, exitOK, gathered.code, gathered.stderr)

	wantGroups, gotGroups := gatherGroups(t, string(want), false), gatherGroups(t, gathered.stdout, true)
	require.Len(t, wantGroups, 6, "dshbak -c:\n%s", want) // i%6 decides both lines
	require.Equal(t, wantGroups, gotGroups, "dshbak -c:\n%s\ndrove -b:\n%s", want, gathered.stdout)
}

// gatherGroups parses dshbak -c's (or clush -b's) blocks, a rule, a folded
// node set, a rule and the output, into output -> node set; with counted,
// each header ends in " (N)", which must be the set's size.
func gatherGroups(t *testing.T, out string, counted bool) map[string]string {
	t.Helper()
	blocks := regexp.MustCompile(`(?m)^-{15,}\n(.+)\n-{15,}\n`).FindAllStringSubmatchIndex(out, -1)
	require.NotEmpty(t, blocks, out)
	groups := map[string]string{}
	for i, b := range blocks {
		end := len(out)
		if i+1 < len(blocks) {
			end = blocks[i+1][0]
		}
		head, body := out[b[2]:b[3]], out[b[1]:end]
		if counted {
			var n int
			h, count, ok := strings.Cut(head, " (")
			require.True(t, ok, "header %q has no count", head)
			_, err := fmt.Sscanf(count, "%d)", &n)
			require.NoError(t, err, head)
			specs, err := hostlist.ParseList(h)
			require.NoError(t, err, h)
			require.Len(t, specs, n, head)
			head = h
		}
		_, dup := groups[body]
		require.False(t, dup, "output %q in two groups", body)
		groups[body] = head
	}
	return groups
}
