package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLongJobQuotedOnceShortened: a job of 80 KB that fails costs a few
// short lines of stderr, each naming the job by its sequence number and
// its first hundred characters (the whole text was in the eviction line and
// in the summary, 160 KB here; 320 KB with two nodes).
func TestLongJobQuotedOnceShortened(t *testing.T) {
	long := "exit 3 # " + strings.Repeat("x", 80<<10)
	r := drove(t, nil, nil, "-n", ":", "--max-attempts", "1", "-j", "true", "-j", long)
	require.Equal(t, exitFailed, r.code)
	require.Less(t, len(r.stderr), 4<<10, "stderr:\n%.2000s", r.stderr)
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		require.Less(t, len(l), 400, "a line of %d bytes: %.200s", len(l), l)
	}
	require.Contains(t, r.stderr, `job 2 "exit 3 # xxx`)
	require.Contains(t, r.stderr, `drove: failed: exit 3 # xxx`)
	require.Contains(t, r.stderr, `...`)
}
