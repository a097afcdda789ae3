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
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// buildDrove builds this drove into a temporary directory: the binary a
// controller sends to its gateways (a test binary cannot serve as one).
func buildDrove(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "drove")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// gatewayConfig writes, for the gateways (which run as the cluster's login
// user), an ssh_config reaching every node with a copy of the client key
// that user can read.
func gatewayConfig(t *testing.T, c *sshdtest.Cluster) string {
	t.Helper()
	dir := filepath.Join(c.Dir, "gw")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	key, err := os.ReadFile(c.ClientKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key"), key, 0o600))
	cfg, err := os.ReadFile(c.SSHConfig)
	require.NoError(t, err)
	path := filepath.Join(dir, "ssh_config")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(string(cfg), c.ClientKey, filepath.Join(dir, "key"))), 0o600))
	for _, f := range []string{dir, filepath.Join(dir, "key"), path} {
		require.NoError(t, os.Chown(f, c.UID, c.GID))
	}
	return path
}

// TestRealSSHThroughGateways: jobs reach nodes through two drove gateways
// (real sshd, drove sent to them by hash), with the same outputs, statuses
// and eviction as a flat run; drove is sent once and reused; a gateway
// that dies mid-run has its nodes evicted and its jobs requeued on the
// other gateway's nodes; and nothing of drove's is left on a gateway or a
// node afterwards.
func TestRealSSHThroughGateways(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 6})
	bin := buildDrove(t)
	gwCfg := gatewayConfig(t, c)
	// From here, nodes 3-6 cannot be reached (port 1 refuses): only
	// through the gateways, whose own ssh_config has their real ports.
	ctl := c.WriteSSHConfig(t, "controller", "Host node3 node4 node5 node6", "    Port 1")
	through := []string{"-F", ctl, "--gateway", "node[1-2]", "--gateway-binary", bin, "--gateway-ssh-config", gwCfg}

	var js []string
	for i := range 40 {
		js = append(js, "-j", fmt.Sprintf("echo job %d as $(id -un)", i))
	}
	r := drove(t, nil, nil, append(append(through, "-n", "node[3-6]"), js...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	for i := range 40 {
		require.Contains(t, r.stdout, fmt.Sprintf("job %d as %s\n", i, c.User))
	}
	// Sent once, by hash, into a private directory of the login user's.
	sum, err := os.ReadFile(bin)
	require.NoError(t, err)
	h := sha256.Sum256(sum)
	sent := filepath.Join(c.Home, ".cache/drove/gateway-"+hex.EncodeToString(h[:])[:16], "drove")
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Dir(sent)) })
	got, err := os.ReadFile(sent)
	require.NoError(t, err)
	require.True(t, bytes.Equal(sum, got), "the binary on the gateway is not this drove")
	st, err := os.Stat(sent)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())

	// A second run reuses it; statuses and eviction are as flat.
	r = drove(t, nil, nil, append(through, "-n", "node3", "--on-failure", "keep", "-j", "exit 3", "-j", "kill -TERM $$", "-j", "echo ok")...)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "exited with status 3 on node3")
	require.Contains(t, r.stderr, "was killed by signal TERM on node3")
	require.Equal(t, "ok\n", r.stdout)
	st2, err := os.Stat(sent)
	require.NoError(t, err)
	require.Equal(t, st.ModTime(), st2.ModTime(), "the binary was sent again")

	// A gateway killed mid-run: its nodes are lost, their jobs run on the
	// other gateway's nodes, and nothing is left running anywhere.
	mark := marker(t)
	dir := filepath.Join(c.Dir, "touched") // the login user can reach c.Dir
	require.NoError(t, os.Mkdir(dir, 0o777))
	require.NoError(t, os.Chmod(dir, 0o777))
	js = nil
	for i := range 16 {
		js = append(js, "-j", fmt.Sprintf("touch %s/%d; sleep 2 # %s", dir, i, mark))
	}
	done := make(chan result, 1)
	go func() { done <- drove(t, nil, nil, append(append(through, "-n", "2/node[3-6]"), js...)...) }()
	testkit.WaitFor(t, 60*time.Second, "jobs to start", func() bool {
		ents, _ := os.ReadDir(dir)
		return len(ents) >= 4
	})
	// Kill one of this run's two gateways.
	testkit.WaitFor(t, 30*time.Second, "a gateway to be killed", func() bool {
		for pid := range clusterGateways(c) { // this cluster's only: other tests run gateways too
			return exec.Command("kill", "-KILL", pid).Run() == nil
		}
		return false
	})
	r = <-done
	require.Equal(t, exitOK, r.code, r.stderr) // every job succeeded in the end
	require.Regexp(t, `drove: evicted node node\d: .*gateway node\d lost: its session ended; requeued`, r.stderr)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 16, "every job ran: %s", r.stderr)
	require.NotContains(t, r.stderr, "never ran")
	testkit.WaitFor(t, 30*time.Second, "no job or gateway left", func() bool {
		out, _ := exec.Command("pgrep", "-f", mark).Output()
		return strings.TrimSpace(string(out)) == "" && len(clusterGateways(c)) == 0
	})
}
