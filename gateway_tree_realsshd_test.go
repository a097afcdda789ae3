//go:build slow && unix

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// treeGatewayConfig writes, for the gateways (which run as the cluster's
// login user), an ssh_config like the cluster's, with a copy of the client
// key that user can read, and extra lines first.
func treeGatewayConfig(t *testing.T, c *sshdtest.Cluster, extra ...string) string {
	t.Helper()
	src := c.WriteSSHConfig(t, "gw-tree-src", extra...)
	dir := filepath.Join(c.Dir, "gw-tree")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	key, err := os.ReadFile(c.ClientKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key"), key, 0o600))
	cfg, err := os.ReadFile(src)
	require.NoError(t, err)
	path := filepath.Join(dir, "ssh_config")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(string(cfg), c.ClientKey, filepath.Join(dir, "key"))), 0o600))
	for _, f := range []string{dir, filepath.Join(dir, "key"), path} {
		require.NoError(t, os.Chown(f, c.UID, c.GID))
	}
	return path
}

// clusterGateways are the drove gateways that run in c's sessions (their
// TMPDIR is a node's scratch directory under c.Dir; other tests' clusters
// may run gateways on the same machine at the same time), each with the
// server address its session came in on.
func clusterGateways(c *sshdtest.Cluster) map[string]string {
	out := map[string]string{}
	pids, _ := exec.Command("pgrep", "-f", "gateway-[0-9a-f]*/drove gateway --ready").Output()
	for _, pid := range strings.Fields(string(pids)) {
		env, _ := os.ReadFile("/proc/" + pid + "/environ")
		mine, server := false, ""
		for _, kv := range strings.Split(string(env), "\x00") {
			if v, ok := strings.CutPrefix(kv, "TMPDIR="); ok && strings.HasPrefix(v, c.Dir+"/") {
				mine = true
			}
			if v, ok := strings.CutPrefix(kv, "SSH_CONNECTION="); ok {
				if f := strings.Fields(v); len(f) == 4 {
					server = f[2]
				}
			}
		}
		if mine {
			out[pid] = server
		}
	}
	return out
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
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 9})
	bin := buildDrove(t)
	root, err := shortHostname(&env{})
	require.NoError(t, err)
	// node1-2: level 1; node3-4: level 2; node5-8: nodes; node9: direct.
	// The controller reaches node1, node2 and node9 only (port 1
	// refuses); the level-1 gateways (sessions on node1's or node2's
	// address, as SSH_CONNECTION says) cannot reach node5-8 either: only
	// the level-2 gateways can.
	ctl := c.WriteSSHConfig(t, "controller", "Host node3 node4 node5 node6 node7 node8", "    Port 1")
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
	sum, err := os.ReadFile(bin)
	require.NoError(t, err)
	h := sha256.Sum256(sum)
	sent := filepath.Join(c.Home, ".cache/drove/gateway-"+hex.EncodeToString(h[:])[:16], "drove")
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Dir(sent)) })
	got, err := os.ReadFile(sent)
	require.NoError(t, err)
	require.True(t, bytes.Equal(sum, got), "the binary on the gateways is not this drove")
	st, err := os.Stat(sent)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
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
	dir := filepath.Join(c.Dir, "touched")
	require.NoError(t, os.Mkdir(dir, 0o777))
	require.NoError(t, os.Chmod(dir, 0o777))
	js = nil
	for i := range 16 {
		js = append(js, "-j", fmt.Sprintf("touch %s/%d; sleep 2 # %s", dir, i, mark))
	}
	done := make(chan result, 1)
	go func() { done <- drove(t, nil, nil, append(append(through, "-n", "2/node[5-8]"), js...)...) }()
	testkit.WaitFor(t, 90*time.Second, "jobs to start", func() bool {
		ents, _ := os.ReadDir(dir)
		return len(ents) >= 4
	})
	// A level-2 gateway is a drove gateway whose session is on node3's or
	// node4's address.
	testkit.WaitFor(t, 30*time.Second, "a level-2 gateway to be killed", func() bool {
		for pid, server := range clusterGateways(c) {
			if server == c.Nodes[2].Host || server == c.Nodes[3].Host {
				return exec.Command("kill", "-KILL", pid).Run() == nil
			}
		}
		return false
	})
	r = <-done
	require.Equal(t, exitOK, r.code, r.stderr) // every job succeeded in the end
	require.Regexp(t, `drove: gateway node[12]: drove: gateway node[34] lost: its session ended: its nodes take their next route`, r.stderr)
	require.NotContains(t, r.stderr, "evicted", "a node evicted for its gateway's loss")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 16, "every job ran: %s", r.stderr)
	require.NotContains(t, r.stderr, "never ran")
	testkit.WaitFor(t, 30*time.Second, "no job or gateway left", func() bool {
		out, _ := exec.Command("pgrep", "-f", mark).Output()
		return strings.TrimSpace(string(out)) == "" && len(clusterGateways(c)) == 0
	})
}
