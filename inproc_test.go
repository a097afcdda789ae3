//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
)

// These tests run drove's command line over SSH against in-process servers
// (internal/sshtest): no root and no sshd needed, the client side set up as
// a user would have it (ssh_config, known_hosts, a key).

// TestInProcessSSHKillAndResume kills a drove process with SIGKILL while
// it runs jobs over SSH, then resumes from its joblog: every job completes,
// those the log recorded run once only, and the killed run's jobs died with
// its connections.
func TestInProcessSSHKillAndResume(t *testing.T) {
	f := sshtest.NewFleet(t, 2, sshtest.Options{})
	killAndResume(t, "-F", f.SSHConfig, "-N", writeFile(t, "nodes.txt", "2/node1\n2/node2\n"))
}

// TestInProcessSSHEvictionEventsAndResults: a node killed mid-run shows up
// as node_evicted in --events, its job is requeued and completes on the
// other node, and --results keeps both attempts in meta.json.
func TestInProcessSSHEvictionEventsAndResults(t *testing.T) {
	f := sshtest.NewFleet(t, 2, sshtest.Options{})
	dir := t.TempDir()
	events := filepath.Join(dir, "events")
	results := filepath.Join(dir, "results")
	started := filepath.Join(dir, "started")
	res := make(chan result, 1)
	go func() {
		res <- drove(t, nil, nil, "-F", f.SSHConfig, "-n", "node1", "-n", "node2", "-m", "1", "--events", events, "--results", results,
			"-j", "if [ ! -e "+started+" ]; then touch "+started+"; sleep 5; fi; echo done")
	}()
	require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 10*time.Second, 5*time.Millisecond)
	// Kill the node the job started on (the job_started event names it).
	var victim string
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(events)
		for _, n := range []string{"node1", "node2"} {
			if strings.Contains(string(b), `"event":"job_started","node":"`+n+`"`) {
				victim = n
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	f.Servers[map[string]int{"node1": 0, "node2": 1}[victim]].Kill()
	r := <-res
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "done\n", r.stdout)
	b, err := os.ReadFile(events)
	require.NoError(t, err)
	require.Contains(t, string(b), `"event":"node_evicted","node":"`+victim+`"`)
	require.Contains(t, string(b), `"requeued":true`)
	ents, err := os.ReadDir(results)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	meta, err := os.ReadFile(filepath.Join(results, ents[0].Name(), "meta.json"))
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(meta), `"node":`), "both attempts recorded: %s", meta)
}
