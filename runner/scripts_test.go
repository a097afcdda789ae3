package runner

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A shell's messages about a job's text give its line number in the
// command (ksh93: "ksh[1]: eval: ..."), so what precedes and follows the
// job in a wrapper must not add a line.
func TestWrapperStaysOneLine(t *testing.T) {
	require.NotContains(t, watcher, "\n")
	require.NotContains(t, reraise, "\n")
	require.NotContains(t, RemoteCommand("echo a", 3), "\n")
	g := newGuard("4242", "/tmp/drove-guard.x", nil, nil)
	_, cmd := g.job("echo a")
	require.NotContains(t, cmd, "\n")
}

func TestCompactDropsCommentsAndIndentation(t *testing.T) {
	got := compact("# shellcheck shell=sh\n# about\n\nf() {\n  echo '#x'  # kept\n\t}\n")
	require.Equal(t, "f() {\necho '#x'  # kept\n}", got)
	for name, s := range map[string]string{"watch.sh": watcher, "reraise.sh": reraise, "guard.sh": guardProgram} {
		require.NotEmpty(t, s, name)
		for line := range strings.Lines(s) {
			require.False(t, strings.HasPrefix(line, "#"), "%s sends a comment line: %q", name, line)
		}
	}
}
