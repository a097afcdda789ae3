package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/records"
	"github.com/stretchr/testify/require"
)

// TestCountJobsMatchesTheRun checks the total counted up front against
// what a run actually runs (the oracle: one output line per job run), for
// job files with blank and white-space lines, CRLF, a last line without a
// newline, --job commands, and --resume skipping what a joblog records.
func TestCountJobsMatchesTheRun(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, "a.txt", "echo a1\n\n  \necho a2\r\n\t\necho a3")
	b := writeFile(t, "b.txt", "\n\necho b1\necho b2\necho a1\n")
	empty := writeFile(t, "empty.txt", "")
	out := filepath.Join(dir, "out")

	args := []string{"-n", "2/:", "-j", "echo j1", "-j", "  ", "-J", a, "-J", empty, "-J", b, "-o", out}
	r := drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	ran := func() int {
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		return strings.Count(string(b), "\n")
	}
	c := &RunCmd{Job: []string{"echo j1", "  "}, JobFile: []string{a, empty, b}}
	require.True(t, c.jobsAreFinite())
	n, ok := c.countJobs(nil)
	require.True(t, ok)
	require.Equal(t, ran(), n)

	// With a joblog: --resume skips what it records.
	joblog := filepath.Join(dir, "joblog")
	r = drove(t, nil, nil, "-n", "1/:", "-J", b, "--joblog", joblog, "-o")
	require.Equal(t, exitOK, r.code, r.stderr)
	done, err := records.ReadJobLog(joblog)
	require.NoError(t, err)
	n, ok = c.countJobs(done.Skipper(false))
	r = drove(t, nil, nil, append(args, "--joblog", joblog, "--resume")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.True(t, ok)
	require.Equal(t, ran(), n)
	require.Less(t, n, 7, "the resume skipped some")
}

// TestCountJobsGivesUpOnABadFile: a line too long for a job stops the
// count (no total shown) instead of a wrong one.
func TestCountJobsGivesUpOnABadFile(t *testing.T) {
	long := writeFile(t, "long.txt", "echo a\n"+strings.Repeat("x", jobs.MaxLineBytes+2)+"\n")
	_, ok := (&RunCmd{JobFile: []string{long}}).countJobs(nil)
	require.False(t, ok)
	_, ok = (&RunCmd{JobFile: []string{filepath.Join(t.TempDir(), "missing")}}).countJobs(nil)
	require.False(t, ok)
}
