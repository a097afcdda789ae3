//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// TestSecondInterruptAccounts: after the second interrupt, the last status
// line waits for nothing and does not count killed jobs as complete; the
// killed jobs are "interrupted" (--resume runs them again), not "failed for
// good"; and a job file read to its last job is not "3+ jobs ... the rest of
// the job stream was not read".
func TestSecondInterruptAccounts(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 3 {
		lines = append(lines, "touch "+filepath.Join(dir, "started")+string(rune('0'+i))+"; sleep 30")
	}
	jobsFile := writeFile(t, "jobs.txt", strings.Join(lines, "\n")+"\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	drain := make(chan struct{})
	done := make(chan result, 1)
	go func() { done <- droveCtx(ctx, nil, drain, "-n", "2/:", "--status", "-J", jobsFile) }()
	testkit.WaitFor(t, 20*time.Second, "two jobs running", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "started*"))
		return len(m) == 2
	})
	close(drain)
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("drove did not end after the second interrupt")
	}
	require.Equal(t, exitInterrupted, r.code, r.stderr)
	require.NotContains(t, r.stderr, "waiting for 0 running")
	require.NotContains(t, r.stderr, "failed for good")
	require.NotContains(t, r.stderr, "3+")
	require.NotContains(t, r.stderr, "the rest of the job stream was not read")
	require.Contains(t, r.stderr, "0 of 3 jobs complete")
	require.Contains(t, r.stderr, "2 killed by the interrupt")
	require.Contains(t, r.stderr, "drove: 0 of 3 jobs succeeded, 2 killed by the interrupt (a resumed run runs them again)")
	_, err := os.Stat(filepath.Join(dir, "started2"))
	require.True(t, os.IsNotExist(err), "the third job never started")
}
