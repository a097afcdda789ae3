//go:build slow && unix

package main

// The real-OpenSSH tier: every test here starts real sshd processes on
// loopback (internal/sshdtest) and runs drove's command line against them.
// They skip without root or sshd, except under CI, where they fail.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// marker returns a string unique to the test, to find its processes.
func marker(t *testing.T) string {
	return fmt.Sprintf("drovemark%d", time.Now().UnixNano())
}

func TestRealSSHRunsJobsAndReportsExactStatus(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 3})
	var js []string
	for i := range 30 {
		js = append(js, "-j", fmt.Sprintf("echo job %d from $(id -un)", i))
	}
	r := drove(t, nil, nil, append([]string{"-F", c.SSHConfig, "-N", c.NodesFile}, js...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	for i := range 30 {
		require.Contains(t, r.stdout, fmt.Sprintf("job %d from %s\n", i, c.User))
	}

	// 3 stays 3; 255 is the job's own status, not a transport failure, so
	// with --on-failure keep no node is evicted; a signal is named.
	r = drove(t, nil, nil, "-F", c.SSHConfig, "-n", "node1", "--on-failure", "keep",
		"-j", "exit 3", "-j", "exit 255", "-j", "kill -TERM $$")
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "failed: exit 3 (--job #1): exited with status 3 on node1")
	require.Contains(t, r.stderr, "failed: exit 255 (--job #2): exited with status 255 on node1")
	require.Contains(t, r.stderr, "(--job #3): was killed by signal TERM on node1")
	require.NotContains(t, r.stderr, "evicted")
}

// TestRealSSHMoreSlotsThanMaxSessions: 32 slots on one default sshd
// (MaxSessions 10) run 32 jobs at once: each job waits until all 32 have
// started, so the run only succeeds if they overlap.
func TestRealSSHMoreSlotsThanMaxSessions(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	dir := c.Nodes[0].Scratch + "/slots" // only the jobs' files: the scratch is also TMPDIR
	const n = 32
	var args []string
	for i := range n {
		args = append(args, "-j", fmt.Sprintf(
			`mkdir -p %[1]s && touch %[1]s/%[2]d; i=0; while [ $(ls %[1]s | wc -l) -lt %[3]d ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; [ $i -lt 600 ]`,
			dir, i, n))
	}
	r := drove(t, nil, nil, append([]string{"-F", c.SSHConfig, "-n", fmt.Sprintf("%d/node1", n), "--max-attempts", "1"}, args...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, c.Log(0), "no more sessions", "sshd never refused a session: the test proves nothing")
}

// TestRealSSHDialManyNodesDespiteMaxStartups: 40 nodes that are all the
// same sshd, with OpenSSH's default MaxStartups (10:30:100: beyond 10
// unauthenticated connections it drops 30% and more), are all reached:
// drove keeps its handshakes to one address under the limit and retries
// dropped ones with backoff.
func TestRealSSHDialManyNodesDespiteMaxStartups(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	var extra []string
	var nodeArgs []string
	for i := range 40 {
		alias := fmt.Sprintf("alias%d", i)
		extra = append(extra, "Host "+alias, "  HostName "+c.Nodes[0].Host, fmt.Sprintf("  Port %d", c.Nodes[0].Port),
			"  User "+c.User, "  IdentityFile "+c.ClientKey, "  UserKnownHostsFile "+c.KnownHosts)
		nodeArgs = append(nodeArgs, "-n", alias)
	}
	cfg := c.WriteSSHConfig(t, "many", extra...)
	r := drove(t, nil, nil, append([]string{"-F", cfg, "-E", "echo up"}, nodeArgs...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, 40, strings.Count(r.stdout, "up\n"))
	require.NotContains(t, r.stderr, "dropped")
}

// TestRealSSHNodeKilledMidRun: a node that dies mid-run is evicted, its
// running job completes elsewhere, and no job that succeeded runs again.
func TestRealSSHNodeKilledMidRun(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 3})
	done := filepath.Join(c.Nodes[0].Scratch, "done")
	active := filepath.Join(t.TempDir(), "active")
	const n = 12
	var args []string
	gate := filepath.Join(c.Nodes[0].Scratch, "gate")
	for i := range n {
		// Each job records itself only when it completes, after the gate
		// opens, and the gate opens only once node2 is dead: the job
		// node2 runs never completes there (by construction, not by a
		// race against a sleep).
		args = append(args, "-j", fmt.Sprintf("while [ ! -e %s ]; do sleep 0.02; done; echo %d >> %s", gate, i, done))
	}
	res := make(chan result, 1)
	go func() {
		res <- drove(t, nil, nil, append([]string{"-F", c.SSHConfig, "-N", c.NodesFile, "-A", active}, args...)...)
	}()
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(active)
		return strings.Contains(string(b), "node2: ")
	}, 20*time.Second, 10*time.Millisecond)
	c.Nodes[1].Kill(t)
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	r := <-res
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "evicted node node2")
	b, err := os.ReadFile(done)
	require.NoError(t, err)
	count := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		count[l]++
	}
	require.Len(t, count, n, "every job completed")
	for job, k := range count {
		require.Equal(t, 1, k, "job %s completed %d times", job, k)
	}
}

// TestRealSSHHungNodeDetectedByKeepalive: a node whose processes are all
// stopped is noticed by keepalives, evicted, and its job runs elsewhere.
func TestRealSSHHungNodeDetectedByKeepalive(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2})
	cfg := c.WriteSSHConfig(t, "alive", "ServerAliveInterval 1", "ServerAliveCountMax 2")
	active := filepath.Join(t.TempDir(), "active")
	res := make(chan result, 1)
	start := time.Now()
	// The job waits at a gate that opens only once its node is frozen: it
	// can finish only on the other node (not a race against a sleep).
	gate := filepath.Join(c.Nodes[0].Scratch, "gate")
	go func() {
		res <- drove(t, nil, nil, "-F", cfg, "-n", "node2", "-n", "node1", "-m", "1", "-A", active,
			"-j", "while [ ! -e "+gate+" ]; do sleep 0.02; done; echo finished")
	}()
	// Whichever node took the job hangs now.
	var froze *sshdtest.Node
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(active)
		for _, n := range c.Nodes {
			if strings.HasPrefix(string(b), n.Name+": ") {
				froze = n
				return true
			}
		}
		return false
	}, 20*time.Second, 10*time.Millisecond)
	froze.Freeze(t)
	defer froze.Thaw(t)
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	r := <-res
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "evicted node "+froze.Name)
	require.Contains(t, r.stderr, "keepalive")
	require.Contains(t, r.stdout, "finished")
	require.Less(t, time.Since(start), 30*time.Second)
}

// TestRealSSHBlackholeGivesUpAfterConnectTimeout: a node that accepts TCP
// but never speaks SSH is dropped after ConnectTimeout; the others run.
func TestRealSSHBlackholeGivesUpAfterConnectTimeout(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	cfg := c.WriteSSHConfig(t, "hole", "Host hole", "  HostName 127.0.0.1", fmt.Sprintf("  Port %d", port), "  ConnectTimeout 1")
	start := time.Now()
	// The job outlasts the connect timeout, so the node is dropped mid-run.
	r := drove(t, nil, nil, "-F", cfg, "-n", "hole", "-n", "node1", "-j", "sleep 3; echo ran")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "ran\n", r.stdout)
	require.Contains(t, r.stderr, "node hole dropped")
	require.Less(t, time.Since(start), 15*time.Second)
}

// TestRealSSHTimeoutKillsJobOnNode: --timeout kills the job and everything
// it started on the node.
func TestRealSSHTimeoutKillsJobOnNode(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	m := marker(t)
	r := drove(t, nil, nil, "-F", c.SSHConfig, "-n", "node1", "--timeout", "1s", "--grace", "1s",
		"-j", fmt.Sprintf("sh -c 'sleep 30; : %s' & sleep 30; : %s", m, m))
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "timed out after 1s")
	c.WaitNoProcs(t, m, 10*time.Second)
}

// TestRealSSHInterrupts: the first interrupt lets the running job finish
// and starts nothing new (exit 130); the second kills running jobs on their
// nodes, leaving no process behind.
func TestRealSSHInterrupts(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	started := filepath.Join(c.Nodes[0].Scratch, "started")

	drain := make(chan struct{})
	res := make(chan result, 1)
	go func() {
		res <- droveCtx(context.Background(), nil, drain, "-F", c.SSHConfig, "-n", "node1",
			"-j", "touch "+started+"; sleep 1; echo first", "-j", "echo second")
	}()
	require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 20*time.Second, 10*time.Millisecond)
	close(drain)
	r := <-res
	require.Equal(t, exitInterrupted, r.code, r.stderr)
	require.Equal(t, "first\n", r.stdout)
	require.Contains(t, r.stderr, "never ran: echo second")
	require.NoError(t, os.Remove(started))

	m := marker(t)
	ctx, cancel := context.WithCancel(context.Background())
	drain = make(chan struct{})
	go func() {
		res <- droveCtx(ctx, nil, drain, "-F", c.SSHConfig, "-n", "2/node1", "--grace", "1s",
			"-j", fmt.Sprintf("touch %s; trap '' TERM; sleep 30; : %s", started, m),
			"-j", fmt.Sprintf("sleep 30; : %s", m))
	}()
	require.Eventually(t, func() bool { return len(c.Procs(t, m)) >= 2 }, 20*time.Second, 10*time.Millisecond)
	close(drain)
	cancel()
	r = <-res
	require.Equal(t, exitInterrupted, r.code, r.stderr)
	c.WaitNoProcs(t, m, 10*time.Second)
}

// TestRealSSHProxyJump reaches node2 only through node1.
func TestRealSSHProxyJump(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2})
	cfg := c.WriteSSHConfig(t, "jump", "Host node2", "  ProxyJump node1")
	r := drove(t, nil, nil, "-F", cfg, "-n", "node2", "-j", "echo via jump")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "via jump\n", r.stdout)
	require.Contains(t, c.Log(0), "direct-tcpip", "node1 never forwarded the connection")

	// The same through --jump.
	r = drove(t, nil, nil, "-F", c.SSHConfig, "--jump", "node1", "-n", "node2", "-j", "echo via flag")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "via flag\n", r.stdout)
}

// writeKey writes a new ed25519 private key in OpenSSH format, encrypted
// when passphrase is not empty.
func writeKey(t *testing.T, path, passphrase string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	var blk *pem.Block
	if passphrase == "" {
		blk, err = ssh.MarshalPrivateKey(priv, "")
	} else {
		blk, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(blk), 0o600))
}

// TestRealSSHHostKeyAndAuthErrors: each failure is one clear line naming
// the node, and the run goes on without it.
func TestRealSSHHostKeyAndAuthErrors(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty_known_hosts")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	changed := filepath.Join(dir, "changed_known_hosts")
	other := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	require.NoError(t, os.WriteFile(changed, []byte(fmt.Sprintf("[%s]:%d %s\n", c.Nodes[0].Host, c.Nodes[0].Port, other)), 0o600))
	wrongKey := filepath.Join(dir, "id_wrong")
	writeKey(t, wrongKey, "")
	encKey := filepath.Join(dir, "id_enc")
	writeKey(t, encKey, "secret")
	host := func(lines ...string) []string {
		return append([]string{"Host bad", "  HostName " + c.Nodes[0].Host, fmt.Sprintf("  Port %d", c.Nodes[0].Port), "  User " + c.User}, lines...)
	}
	cases := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"unknown host key", host("  IdentityFile "+c.ClientKey, "  UserKnownHostsFile "+empty),
			[]string{"node bad dropped", "unknown", "accept-new", "or run with --accept-new-host-keys"}},
		{"changed host key", host("  IdentityFile "+c.ClientKey, "  UserKnownHostsFile "+changed, "  StrictHostKeyChecking no"),
			[]string{"node bad dropped", "changed"}},
		{"key not authorized", host("  IdentityFile "+wrongKey, "  IdentitiesOnly yes", "  UserKnownHostsFile "+c.KnownHosts),
			[]string{"node bad dropped", "id_wrong"}},
		{"encrypted key without agent", host("  IdentityFile "+encKey, "  IdentitiesOnly yes", "  UserKnownHostsFile "+c.KnownHosts),
			[]string{"node bad dropped", "id_enc", "encrypted"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SSH_AUTH_SOCK", "")
			cfg := c.WriteSSHConfig(t, strings.ReplaceAll(tc.name, " ", "_"), tc.lines...)
			// -E waits for every node to connect or be dropped; with -j the
			// run could end on node1 before bad's refusal arrived.
			r := drove(t, nil, nil, "-F", cfg, "-n", "bad", "-n", "node1", "-E", "echo ok")
			require.Equal(t, exitFailed, r.code, r.stderr)
			require.Equal(t, "ok\n", r.stdout)
			for _, w := range tc.want {
				require.Contains(t, r.stderr, w)
			}
			require.NotContains(t, r.stderr, "goroutine")
		})
	}
}
