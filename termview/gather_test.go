package termview

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

func TestGatherGroupsIdenticalOutput(t *testing.T) {
	g := NewGather()
	run := func(seq int, node, out string, err error) {
		so, se, done := g.JobOutput(jobs.Job{Seq: seq}, 1, node)
		require.Nil(t, se)
		_, _ = so.Write([]byte(out))
		done(err)
	}
	for i, n := range []string{"node01", "node02", "node03", "node04", "node05", "node06", "node07", "node08", "node10"} {
		run(i+1, n, "model: EPYC\n", nil)
	}
	run(10, "node09", "model: Xeon\n", nil)
	run(11, "node11", "model: EPYC\n", &runner.ExitError{Status: 3})
	// A requeued job: only its last attempt counts.
	run(12, "gpu1", "first attempt\n", &runner.ExitError{Status: 1})
	run(12, "gpu2", "no newline", nil)

	var b strings.Builder
	require.NoError(t, g.Print(&b, ""))
	golden(t, "gather.golden", b.String())
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
}
