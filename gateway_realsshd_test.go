//go:build slow && unix

package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRealSSHThroughGateways: jobs reach nodes through two drove gateways
// (real sshd, drove sent to them by hash), with the same outputs, statuses
// and eviction as a flat run; drove is sent once and reused; a gateway
// that dies mid-run has its jobs requeued and its nodes rerouted through
// the other gateway; and nothing of drove's is left on a gateway or a
// node afterwards.
func TestRealSSHThroughGateways(t *testing.T) {
	// From here, nodes 3-6 cannot be reached (port 1 refuses): only
	// through the gateways, whose own ssh_config has their real ports.
	b := newGatewayBed(t, gatewayBedOptions{nodes: 6, gateways: 2})
	c := b.c

	var js []string
	for i := range 40 {
		js = append(js, "-j", fmt.Sprintf("echo job %d as $(id -un)", i))
	}
	r := drove(t, nil, nil, b.args(true, append([]string{"-n", "node[3-6]"}, js...)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	for i := range 40 {
		require.Contains(t, r.stdout, fmt.Sprintf("job %d as %s\n", i, c.User))
	}
	// Sent once, by hash, into a private directory of the login user's.
	sent, st := b.requireSent(t)

	// A second run reuses it; statuses and eviction are as flat.
	r = drove(t, nil, nil, b.args(true, "-n", "node3", "--on-failure", "keep", "-j", "exit 3", "-j", "kill -TERM $$", "-j", "echo ok")...)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "exited with status 3 on node3")
	require.Contains(t, r.stderr, "was killed by signal TERM on node3")
	require.Equal(t, "ok\n", r.stdout)
	st2, err := os.Stat(sent)
	require.NoError(t, err)
	require.Equal(t, st.ModTime(), st2.ModTime(), "the binary was sent again")

	// A gateway killed mid-run: its running jobs are requeued and its nodes
	// go on through the other gateway, and nothing is left running anywhere.
	mark := marker(t)
	dir := b.sharedDir(t, "touched")
	done := goDrove(t, b.args(true, append([]string{"-n", "2/node[3-6]"}, touchJobs(dir, mark, 16)...)...)...)
	waitFiles(t, dir, 4, 60*time.Second, "jobs to start")
	// Kill one of this run's two gateways.
	b.killGateway(t, func(string) bool { return true })
	r = waitRun(t, done, 300*time.Second)
	require.Equal(t, exitOK, r.code, r.stderr) // every job succeeded in the end
	require.Regexp(t, `gateway node\d lost: its session ended on node node\d; requeued`, r.stderr)
	require.NotContains(t, r.stderr, "evicted")
	requireEveryJobRan(t, r, dir, 16)
	b.noneLeft(t, mark)
}
