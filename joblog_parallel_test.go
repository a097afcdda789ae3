//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestJobLogIsGNUParallels runs the same jobs through GNU parallel --joblog
// and drove --joblog on ':' and compares the logs column by column; only
// the values of Starttime and JobRuntime may differ (their format may not).
func TestJobLogIsGNUParallels(t *testing.T) {
	if _, err := exec.LookPath("parallel"); err != nil {
		t.Skip("GNU parallel not installed")
	}
	dir := t.TempDir()
	jobList := "echo a\necho a\nexit 3\nkill -TERM $$\nprintf 'a\\tb'\nprintf x\necho 'back\\\\slash'\n"
	jobFile := filepath.Join(dir, "jobs")
	require.NoError(t, os.WriteFile(jobFile, []byte(jobList), 0o644))
	p := exec.Command("parallel", "--will-cite", "-j1", "--joblog", filepath.Join(dir, "parallel.log"))
	p.Stdin = strings.NewReader(jobList)
	p.Env = append(os.Environ(), "HOME="+dir, "PARALLEL_SHELL=/bin/sh") // the shell drove uses on :
	_ = p.Run()
	r := drove(t, nil, nil, "-n", "1/:", "--on-failure", "keep", "-J", jobFile, "--joblog", filepath.Join(dir, "drove.log"))
	require.Equal(t, exitFailed, r.code, r.stderr)

	read := func(name string) [][]string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		var rows [][]string
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if l != "" {
				rows = append(rows, strings.Split(l, "\t"))
			}
		}
		slices.SortFunc(rows[1:], func(a, b []string) int { return strings.Compare(a[0], b[0]) })
		return rows
	}
	want, got := read("parallel.log"), read("drove.log")
	require.Equal(t, want[0], got[0], "header")
	require.Len(t, got, len(want))
	shape := func(s string) string { // a time's format: digits become 9
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return '9'
			}
			return r
		}, s)
	}
	for i := 1; i < len(want); i++ {
		w, g := want[i], got[i]
		require.Len(t, g, 9)
		for c := range w {
			if c == 2 || c == 3 {
				require.Equal(t, len(w[c]), len(g[c]), "row %d column %s: %q vs %q", i, want[0][c], w[c], g[c])
				require.Equal(t, shape(w[c])[len(w[c])-4:], shape(g[c])[len(g[c])-4:], "row %d column %s", i, want[0][c])
				continue
			}
			require.Equal(t, w[c], g[c], "row %d column %s", i, want[0][c])
		}
	}
}
