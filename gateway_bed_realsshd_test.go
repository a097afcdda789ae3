//go:build slow && unix

package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/records"
	"github.com/stretchr/testify/require"
)

// gatewayBedOptions says what a gatewayBed is made of.
type gatewayBedOptions struct {
	nodes    int // sshd nodes
	gateways int // node1 .. node<gateways> are the gateways that through names
	// direct is how many of the last nodes the controller reaches itself,
	// as it reaches the gateways; the nodes between are reachable only
	// through the gateways.
	direct int
	// agentOnly makes the gateways' ssh_config the cluster's without any
	// identity file: the gateways have no key of their own and reach the
	// nodes only with a forwarded agent.
	agentOnly bool
	flags     []string // flags for every run, through the gateways or flat
	// nodeConfig, when set, gives extra sshd_config lines for node i
	// (0-based) alone (sshdtest.Options.NodeConfig).
	nodeConfig func(i int) []string
}

// gatewayBed is an sshd cluster whose first nodes serve as drove
// gateways and whose other nodes the controller reaches only through
// them (its ssh_config sends them to port 1), with this drove built to be
// sent to the gateways, and the same nodes reached directly, to compare a
// run through the gateways with the same run flat. The drove sent to the
// gateways is removed when the test ends.
type gatewayBed struct {
	c       *sshdtest.Cluster
	bin     string   // the drove sent to the gateways
	gwCfg   string   // the gateways' ssh_config (--gateway-ssh-config)
	ctl     string   // the controller's ssh_config: only the gateways and the direct nodes reachable
	through []string // flags that reach the nodes through the gateways
	flat    []string // flags that reach every node directly
	dir     string   // a directory every node's jobs may write (gates, flags)
	opts    gatewayBedOptions
}

// newGatewayBed starts a gatewayBed as o says.
func newGatewayBed(t *testing.T, o gatewayBedOptions) *gatewayBed {
	t.Helper()
	c := sshdtest.Start(t, sshdtest.Options{Nodes: o.nodes, NodeConfig: o.nodeConfig})
	b := &gatewayBed{c: c, bin: buildDrove(t), opts: o}
	forgetSent(t, c, b.bin)
	if o.agentOnly {
		cfg, err := os.ReadFile(c.SSHConfig)
		require.NoError(t, err)
		noKey := regexp.MustCompile(`(?m)^\s*(IdentityFile|IdentitiesOnly) .*\n`).ReplaceAll(cfg, nil)
		b.gwCfg = filepath.Join(gatewayUserFiles(t, c, "gw-agent", map[string][]byte{"ssh_config": noKey}), "ssh_config")
	} else {
		b.gwCfg = gatewayConfig(t, c)
	}
	b.ctl = b.controllerConfig(t, "controller")
	b.through = b.via(b.ctl)
	b.flat = append([]string{"-F", c.SSHConfig}, o.flags...)
	b.dir = b.sharedDir(t, "shared")
	return b
}

// controllerConfig writes the controller's ssh_config named name: the
// cluster's, with the nodes between the gateways and the direct ones sent
// to port 1 (refused), and extra lines after that.
func (b *gatewayBed) controllerConfig(t *testing.T, name string, extra ...string) string {
	t.Helper()
	hosts := "Host"
	for i := b.opts.gateways + 1; i <= b.opts.nodes-b.opts.direct; i++ {
		hosts += fmt.Sprintf(" node%d", i)
	}
	return b.c.WriteSSHConfig(t, name, append([]string{hosts, "    Port 1"}, extra...)...)
}

// via is the flags of a run through the gateways with the controller's
// ssh_config ctl, then more.
func (b *gatewayBed) via(ctl string, more ...string) []string {
	gws := "node1"
	if b.opts.gateways > 1 {
		gws = fmt.Sprintf("node[1-%d]", b.opts.gateways)
	}
	args := []string{"-F", ctl, "--gateway", gws, "--gateway-binary", b.bin, "--gateway-ssh-config", b.gwCfg}
	return append(append(args, b.opts.flags...), more...)
}

// args is the flags of a run through the gateways (through) or flat.
func (b *gatewayBed) args(through bool, more ...string) []string {
	base := b.flat
	if through {
		base = b.through
	}
	return append(slices.Clone(base), more...)
}

// sharedDir makes a directory named name under the cluster's, which every
// node's jobs may write.
func (b *gatewayBed) sharedDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(b.c.Dir, name)
	require.NoError(t, os.Mkdir(dir, 0o777))
	require.NoError(t, os.Chmod(dir, 0o777))
	return dir
}

// requireSent checks that this drove was sent to the gateways by hash,
// into a private directory of the login user's, and returns its path
// there and what Stat says of it.
func (b *gatewayBed) requireSent(t *testing.T) (string, os.FileInfo) {
	t.Helper()
	sum, err := os.ReadFile(b.bin)
	require.NoError(t, err)
	sent := filepath.Join(sentDir(b.c, sum), "drove")
	got, err := os.ReadFile(sent)
	require.NoError(t, err)
	require.True(t, bytes.Equal(sum, got), "the binary on the gateways is not this drove")
	st, err := os.Stat(sent)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	return sent, st
}

// noneLeft waits until neither a process with marker (any user's; none
// when marker is "") nor a drove gateway of this bed is left.
func (b *gatewayBed) noneLeft(t *testing.T, marker string) {
	t.Helper()
	if marker != "" {
		noJobLeft(t, marker)
	}
	b.noGatewayLeft(t)
}

// noGatewayLeft waits until no drove gateway runs in a session of the
// bed's (clusterGateways).
func (b *gatewayBed) noGatewayLeft(t *testing.T) {
	t.Helper()
	var left map[string]string
	waitUntil(t, 30*time.Second, func() bool { left = clusterGateways(b.c); return len(left) == 0 },
		func() string { return fmt.Sprintf("drove gateways still running (pid: server): %v", left) })
}

// noJobLeft waits until no process of any user has marker in its command
// line.
func noJobLeft(t *testing.T, marker string) {
	t.Helper()
	var left string
	waitUntil(t, 30*time.Second, func() bool {
		out, _ := exec.Command("pgrep", "-a", "-f", marker).Output()
		left = strings.TrimSpace(string(out))
		return left == ""
	}, func() string { return "processes with marker " + marker + " still alive:\n" + left })
}

// waitUntil polls cond for at most within and fails the test with what
// says when it never held.
func waitUntil(t *testing.T, within time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// touchJobs are n jobs ("-j" flags), each of which touches a file of its
// own in dir, sleeps 2 s and carries mark.
func touchJobs(dir, mark string, n int) []string {
	var js []string
	for i := range n {
		js = append(js, "-j", fmt.Sprintf("touch %s/%d; sleep 2 # %s", dir, i, mark))
	}
	return js
}

// waitFiles waits, for at most within, until dir holds n entries.
func waitFiles(t *testing.T, dir string, n int, within time.Duration, what string) {
	t.Helper()
	testkit.WaitFor(t, within, what, func() bool {
		ents, _ := os.ReadDir(dir)
		return len(ents) >= n
	})
}

// killGateway kills (SIGKILL), within 30 s, one of the bed's gateways that
// pick accepts, given the address its session came in on.
func (b *gatewayBed) killGateway(t *testing.T, pick func(server string) bool) {
	t.Helper()
	testkit.WaitFor(t, 30*time.Second, "a gateway to be killed", func() bool {
		for pid, server := range clusterGateways(b.c) { // this cluster's only: other tests run gateways too
			if pick(server) {
				return exec.Command("kill", "-KILL", pid).Run() == nil
			}
		}
		return false
	})
}

// requireEveryJobRan checks that each of the n touchJobs in dir ran and
// that the run's stderr says none never ran.
func requireEveryJobRan(t *testing.T, r result, dir string, n int) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, n, "every job ran: %s", r.stderr)
	require.NotContains(t, r.stderr, "never ran")
}

// goDrove runs drove with args in a goroutine of its own; the channel
// gets its result.
func goDrove(t *testing.T, args ...string) <-chan result {
	done := make(chan result, 1)
	go func() { done <- drove(t, nil, nil, args...) }()
	return done
}

// waitRun waits, for at most within, for the result of a run goDrove
// started.
func waitRun(t *testing.T, done <-chan result, within time.Duration) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(within):
		t.Fatalf("the run did not end within %s", within)
		return result{}
	}
}

// readEvents is an --events file's lines.
func readEvents(t *testing.T, path string) []records.EventLine {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var evs []records.EventLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev records.EventLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), "%s", sc.Text())
		evs = append(evs, ev)
	}
	require.NoError(t, sc.Err())
	return evs
}

// buildDrove builds this drove into a temporary directory: the binary a
// controller sends to its gateways (a test binary cannot serve as one).
func buildDrove(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "drove")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// sentDir is the directory, in the login user's home, into which a
// drove whose bytes are bin is sent to a gateway.
func sentDir(c *sshdtest.Cluster, bin []byte) string {
	h := sha256.Sum256(bin)
	return filepath.Join(c.Home, ".cache/drove/gateway-"+hex.EncodeToString(h[:])[:16])
}

// forgetSent removes, when the test ends, the drove that the test's
// gateways were sent (the login user's home is shared by every cluster: a
// later test would find it there and send nothing).
func forgetSent(t *testing.T, c *sshdtest.Cluster, bin string) {
	t.Helper()
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	dir := sentDir(c, b)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
}

// gatewayConfig writes, for the gateways (which run as the cluster's login
// user), an ssh_config reaching every node with a copy of the client key
// that user can read.
func gatewayConfig(t *testing.T, c *sshdtest.Cluster) string {
	t.Helper()
	return gatewayConfigFrom(t, c, "gw", c.SSHConfig)
}

// gatewayConfigFrom writes into the directory dir under c.Dir, for the
// gateways, the ssh_config src with a copy of the client key the login
// user can read in place of the key, and returns the copy's path.
func gatewayConfigFrom(t *testing.T, c *sshdtest.Cluster, dir, src string) string {
	t.Helper()
	key, err := os.ReadFile(c.ClientKey)
	require.NoError(t, err)
	cfg, err := os.ReadFile(src)
	require.NoError(t, err)
	path := filepath.Join(c.Dir, dir)
	cfg = bytes.ReplaceAll(cfg, []byte(c.ClientKey), []byte(filepath.Join(path, "key")))
	return filepath.Join(gatewayUserFiles(t, c, dir, map[string][]byte{"key": key, "ssh_config": cfg}), "ssh_config")
}

// gatewayUserFiles writes files (name: content) into a directory dir
// under c.Dir, it 0700 and they 0600, all owned by the cluster's login
// user (as whom the gateways run), and returns the directory's path.
func gatewayUserFiles(t *testing.T, c *sshdtest.Cluster, dir string, files map[string][]byte) string {
	t.Helper()
	path := filepath.Join(c.Dir, dir)
	require.NoError(t, os.MkdirAll(path, 0o700))
	require.NoError(t, os.Chown(path, c.UID, c.GID))
	for name, content := range files {
		f := filepath.Join(path, name)
		require.NoError(t, os.WriteFile(f, content, 0o600))
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
