//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNodeFileSlotChangeIsAnnounced: a re-read node file that changes a
// node's slot count says so, on stderr and as an event, as docs/jobs.md
// promises (it was applied silently).
func TestNodeFileSlotChangeIsAnnounced(t *testing.T) {
	dir := t.TempDir()
	nodesFile := filepath.Join(dir, "nodes.txt")
	require.NoError(t, os.WriteFile(nodesFile, []byte(":\n"), 0o644))
	events := filepath.Join(dir, "events")
	gate := filepath.Join(dir, "go")
	var js []string
	for i := range 3 {
		js = append(js, "-j", fmt.Sprintf("i=0; while [ ! -e %s ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo job %d", gate, i))
	}
	res := make(chan result, 1)
	go func() {
		res <- drove(t, nil, nil, append([]string{"-N", nodesFile, "--events", events}, js...)...)
	}()
	waitEvent := func(name string) {
		t.Helper()
		require.Eventually(t, func() bool {
			b, _ := os.ReadFile(events)
			return strings.Contains(string(b), `"event":"`+name+`","node":"local"`)
		}, 20*time.Second, 10*time.Millisecond, "no %s event", name)
	}
	waitEvent("job_started")
	require.NoError(t, os.WriteFile(nodesFile, []byte("3/:\n"), 0o644))
	waitEvent("node_resized")
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	r := <-res
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: node local now has 3 slots, was 1\n")
}
