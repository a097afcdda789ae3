package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/records"
	"github.com/stretchr/testify/require"
)

// Issue 11 defect 4, end to end: of two identical job lines with one
// logged, --resume runs one.
func TestResumeRunsOneOfTwoIdenticalLines(t *testing.T) {
	dir := t.TempDir()
	joblog := filepath.Join(dir, "joblog")
	jobFile := filepath.Join(dir, "jobs")
	require.NoError(t, os.WriteFile(jobFile, []byte("echo same\necho same\necho other\n"), 0o644))
	require.NoError(t, os.WriteFile(joblog, []byte(records.JobLogHeader+"\n1\t:\t1795930082.138\t     0.002\t0\t5\t0\t0\techo same\n"), 0o644))
	r := drove(t, nil, nil, "-n", "1/:", "-J", jobFile, "--joblog", joblog, "--resume")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "same\nother\n", r.stdout)
}

// Issue 11 defect 4, end to end: drove killed mid-line left a torn last
// line. The next run appends on a line of its own, and the run after reads
// the log and finds every job done.
func TestResumeAfterATornJobLogLine(t *testing.T) {
	dir := t.TempDir()
	joblog := filepath.Join(dir, "joblog")
	require.NoError(t, os.WriteFile(joblog, []byte(records.JobLogHeader+"\n1\t:\t1795930082.138\t     0.002\t0\t2\t0\t0\techo a\n2\t:\t17959"), 0o644))
	args := []string{"-n", "1/:", "--joblog", joblog, "--resume", "-j", "echo a", "-j", "echo b", "-j", "echo c"}
	r := drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "b\nc\n", r.stdout)
	b, err := os.ReadFile(joblog)
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	require.Len(t, lines, 5, "header, 3 jobs, and the empty string after the last newline:\n%s", b)
	for _, l := range lines[1:4] {
		_, err := records.ParseJobLogEntry(l)
		require.NoError(t, err, "%q", l)
	}
	r = drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Empty(t, r.stdout)
	require.Equal(t, "drove: nothing left to run: "+joblog+" records all 3 jobs as done\n", r.stderr, "no complaint about the log")
}

// Host ranges and a Slurm node list reach the node list as given to -n.
func TestNodeRangesOnTheCommandLine(t *testing.T) {
	r := drove(t, nil, nil, "-F", "none", "--dry-run", "-n", "2/alice@node[01-02,05],gpu7", "-j", "true")
	require.Equal(t, exitOK, r.code, r.stderr)
	var names []string
	for _, l := range strings.Split(r.stdout, "\n") {
		// A node's line; the option lines under it start with a tab.
		if name, _, ok := strings.Cut(l, "\t"); ok && name != "" {
			names = append(names, name)
		}
	}
	require.Equal(t, []string{"alice@node01", "alice@node02", "alice@node05", "gpu7"}, names)
	r = drove(t, nil, nil, "-n", "node[01-1]", "-j", "true")
	require.Equal(t, exitUsage, r.code)
	require.Equal(t, "drove: --node: bad node spec \"node[01-1]\": bad range \"01-1\" in \"[01-1]\": zero-padded bounds must have the same number of digits\n", r.stderr)
}
