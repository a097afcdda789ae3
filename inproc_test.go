//go:build unix

package main

import (
	"os"
	"path/filepath"
	"regexp"
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
	require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 60*time.Second, 5*time.Millisecond)
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
	}, 60*time.Second, 5*time.Millisecond)
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

// TestInProcessSSHGather: --gather prints each distinct output once under
// the folded set of nodes that gave it, as clush -b does.
func TestInProcessSSHGather(t *testing.T) {
	f := sshtest.NewFleet(t, 4, sshtest.Options{})
	once := filepath.Join(t.TempDir(), "once")
	// Exactly one node creates the directory and says "first".
	r := drove(t, nil, nil, "-F", f.SSHConfig, "-n", "node1", "-n", "node2", "-n", "node3", "-n", "node4", "--gather",
		"-E", "if mkdir "+once+" 2>/dev/null; then echo first; else echo later; fi")
	require.Equal(t, exitOK, r.code, r.stderr)
	groups := regexp.MustCompile(`(?m)^-+\n(\S+) \((\d)\)\n-+\n(\w+)\n`).FindAllStringSubmatch(r.stdout, -1)
	require.Len(t, groups, 2, r.stdout)
	byOut := map[string][]string{}
	for _, g := range groups {
		byOut[g[3]] = g[1:3]
	}
	require.Equal(t, "1", byOut["first"][1])
	require.Regexp(t, `^node[1-4]$`, byOut["first"][0])
	require.Equal(t, "3", byOut["later"][1])
	require.Regexp(t, `^node\[[1-4,-]+\]$`, byOut["later"][0])
	require.Equal(t, len(r.stdout), len(groups[0][0])+len(groups[1][0]), "nothing but the two groups: %q", r.stdout)

	// All the same: one group of four.
	r = drove(t, nil, nil, "-F", f.SSHConfig, "-n", "node1", "-n", "node2", "-n", "node3", "-n", "node4", "-b", "-E", "echo same")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "---------------\nnode[1-4] (4)\n---------------\nsame\n", r.stdout) // rules are at least 15 wide
}
