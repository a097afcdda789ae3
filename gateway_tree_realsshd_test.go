//go:build slow && unix

package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/require"
)

// treeGatewayConfig writes, for the gateways (which run as the cluster's
// login user), an ssh_config like the cluster's, with a copy of the client
// key that user can read, and extra lines first.
func treeGatewayConfig(t *testing.T, c *sshdtest.Cluster, extra ...string) string {
	t.Helper()
	return gatewayConfigFrom(t, c, "gw-tree", c.WriteSSHConfig(t, "gw-tree-src", extra...))
}

// sftpStarts counts, in node i's sshd log, the SFTP sessions (how drove is
// sent to a gateway).
func sftpStarts(c *sshdtest.Cluster, i int) int {
	return len(regexp.MustCompile(`subsystem 'sftp'`).FindAllString(c.Log(i), -1))
}

// TestRealSSHTwoLevelsOfGateways: with a ClusterShell topology file, jobs
// reach nodes that only level-2 gateways can reach, through level-1
// gateways that only can reach the level-2 ones (real sshd, each level
// started by the one above with its own binary, by hash), with the same
// outputs and statuses as flat; a node the file does not hold is reached
// directly; drove is sent at most once to each gateway and not again in
// the next run; a level-2 gateway killed mid-run has its jobs requeued
// and its nodes rerouted through the other level-2 gateway; and nothing
// of drove's is left running anywhere afterwards.
func TestRealSSHTwoLevelsOfGateways(t *testing.T) {
	b := newGatewayBed(t, gatewayBedOptions{nodes: 9, gateways: 2, direct: 1})
	c, bin, ctl := b.c, b.bin, b.ctl
	root, err := shortHostname(&env{})
	require.NoError(t, err)
	// node1-2: level 1; node3-4: level 2; node5-8: nodes; node9: direct.
	// The controller reaches node1, node2 and node9 only (port 1
	// refuses); the level-1 gateways (sessions on node1's or node2's
	// address, as SSH_CONNECTION says) cannot reach node5-8 either: only
	// the level-2 gateways can.
	onLevel1 := fmt.Sprintf(`echo " $SSH_CONNECTION " | grep -Eq " (%s) "`, regexp.QuoteMeta(c.Nodes[0].Host)+"|"+regexp.QuoteMeta(c.Nodes[1].Host))
	gwCfg := treeGatewayConfig(t, c, "Match host node5,node6,node7,node8 exec '"+onLevel1+"'", "    Port 1")
	topo := writeFile(t, "topology.conf", "# two levels\n[routes]\n"+root+": node[1-2]\nnode[1-2]: node[3-4]\nnode[3-4]: node[5-8]\n")
	// Connecting gets 2 minutes (a bound, not a wait): a loaded machine
	// has taken over 10 s for a handshake.
	through := []string{"-F", ctl, "--topology", topo, "--gateway-binary", bin, "--gateway-ssh-config", gwCfg, "--connect-timeout", "120s"}

	// The bed's premise: level 1 cannot reach the nodes itself.
	flat := writeFile(t, "flat.conf", "[routes]\n"+root+": node[1-2]\nnode[1-2]: node[5-8]\n")
	r := drove(t, nil, nil, "-F", ctl, "--topology", flat, "--gateway-binary", bin, "--gateway-ssh-config", gwCfg, "-n", "node[5-8]", "-E", "true")
	require.NotEqual(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "refused", r.stderr)

	var js []string
	for i := range 40 {
		js = append(js, "-j", fmt.Sprintf("echo job %d as $(id -un)", i))
	}
	r = drove(t, nil, nil, append(append(through, "-n", "node[5-9]"), js...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	for i := range 40 {
		require.Contains(t, r.stdout, fmt.Sprintf("job %d as %s\n", i, c.User))
	}
	// Every node ran jobs: node5-8 through two levels, node9 directly.
	r = drove(t, nil, nil, append(through, "-n", "node[5-9]", "-E", "hostname >/dev/null; echo up")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, 5, strings.Count(r.stdout, "up\n"), r.stdout)

	// Sent by hash into a private directory; at most once per gateway.
	b.requireSent(t)
	var sftps [9]int
	total := 0
	for i := range 9 {
		sftps[i] = sftpStarts(c, i)
		total += sftps[i]
		if i >= 4 {
			require.Zero(t, sftps[i], "node%d is no gateway but was sent drove", i+1)
		}
		require.LessOrEqual(t, sftps[i], 1, "node%d was sent drove more than once", i+1)
	}
	require.GreaterOrEqual(t, total, 1, "drove was never sent")

	// Statuses as flat; nothing sent again.
	r = drove(t, nil, nil, append(through, "-n", "node6", "--on-failure", "keep", "-j", "exit 3", "-j", "kill -TERM $$", "-j", "echo ok")...)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "exited with status 3 on node6")
	require.Contains(t, r.stderr, "was killed by signal TERM on node6")
	require.Equal(t, "ok\n", r.stdout)
	for i := range 9 {
		require.Equal(t, sftps[i], sftpStarts(c, i), "node%d was sent drove again", i+1)
	}

	// A level-2 gateway killed mid-run: its nodes take the other gateway
	// of their level (TestRealSSHTopologyGatewayKilled has more), nothing
	// is left.
	mark := marker(t)
	dir := b.sharedDir(t, "touched")
	js = touchJobs(dir, mark, 16)
	done := goDrove(t, append(append(through, "-n", "2/node[5-8]"), js...)...)
	waitFiles(t, dir, 4, 90*time.Second, "jobs to start")
	// A level-2 gateway is a drove gateway whose session is on node3's or
	// node4's address.
	b.killGateway(t, func(server string) bool { return server == c.Nodes[2].Host || server == c.Nodes[3].Host })
	r = waitRun(t, done, 300*time.Second)
	require.Equal(t, exitOK, r.code, r.stderr) // every job succeeded in the end
	require.Regexp(t, `drove: gateway node[12]: drove: gateway node[34] lost: its session ended: its nodes take their next route`, r.stderr)
	require.NotContains(t, r.stderr, "evicted", "a node evicted for its gateway's loss")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 16, "every job ran: %s", r.stderr)
	require.NotContains(t, r.stderr, "never ran")
	b.noneLeft(t, mark)
}
