//go:build unix

package sshdtest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/drove-dev/drove/internal/sshdtest"
)

// uniqueMarker returns a string no other process on the machine carries.
func uniqueMarker(t *testing.T) string {
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "sshdtest-marker-" + hex.EncodeToString(b)
}

// waitProcs polls until exactly want processes carry marker.
func waitProcs(t *testing.T, c *sshdtest.Cluster, marker string, want int) []sshdtest.Proc {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		procs := c.Procs(t, marker)
		if len(procs) == want {
			return procs
		}
		if time.Now().After(deadline) {
			require.Failf(t, "process count", "want %d processes with %s, have %v", want, marker, procs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitErr waits for the result of fn run on another goroutine.
func waitErr(t *testing.T, within time.Duration, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		require.FailNow(t, "timed out", "no result within %v", within)
		return nil
	}
}

func TestStartRunsCommandsAsLoginUser(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2})
	require.Len(t, c.Nodes, 2)
	assert.NotEqual(t, c.Nodes[0].Host, c.Nodes[1].Host, "each node has its own loopback address")

	for i, n := range c.Nodes {
		client := c.DialNode(t, i)

		s, err := client.NewSession()
		require.NoError(t, err)
		out, err := s.Output("id -un; readlink /proc/$$/exe")
		require.NoError(t, err, n.Name)
		assert.Equal(t, c.User+"\n/usr/bin/dash\n", string(out), "%s runs commands as %s under dash", n.Name, c.User)

		s, err = client.NewSession()
		require.NoError(t, err)
		require.NoError(t, s.Run("echo "+n.Name+" > "+n.Scratch+"/who"), "the scratch directory is writable")
		assert.FileExists(t, n.Scratch+"/who")

		s, err = client.NewSession()
		require.NoError(t, err)
		out, err = s.Output("echo $TMPDIR")
		require.NoError(t, err)
		assert.Equal(t, n.Scratch+"\n", string(out), "the scratch directory is the node's TMPDIR")

		s, err = client.NewSession()
		require.NoError(t, err)
		err = s.Run("exit 3")
		var exitErr *ssh.ExitError
		require.ErrorAs(t, err, &exitErr)
		assert.Equal(t, 3, exitErr.ExitStatus())
	}
}

func TestSSHConfigWorksWithOpenSSHClient(t *testing.T) {
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("no OpenSSH client")
	}
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2})
	cfg := c.WriteSSHConfig(t, "jump_config", "Host node2", "    ProxyJump node1")
	for _, file := range []string{c.SSHConfig, cfg} {
		out, err := exec.Command(sshPath, "-F", file, "-o", "BatchMode=yes", "node2", "echo $SSH_CONNECTION").CombinedOutput()
		require.NoError(t, err, "%s: %s", file, out)
		f := strings.Fields(string(out))
		require.Len(t, f, 4, "%s", out)
		assert.Equal(t, c.Nodes[1].Host, f[2])
	}
	assert.Contains(t, c.Log(0), "direct-tcpip", "the second login went through node1")
}

func TestMaxSessionsRefusesExtraSession(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{MaxSessions: 2})
	client := c.DialNode(t, 0)
	for range 2 {
		s, err := client.NewSession()
		require.NoError(t, err)
		require.NoError(t, s.Start("sleep 30"))
	}
	_, err := client.NewSession()
	var openErr *ssh.OpenChannelError
	require.ErrorAs(t, err, &openErr)
	assert.Equal(t, ssh.ConnectionFailed, openErr.Reason)
	assert.Contains(t, c.Log(0), "no more sessions")
}

func TestMaxStartupsDropsPendingLogins(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{MaxStartups: "1"})
	// Start's readiness check made no connection, so the first login has
	// the only startup slot.
	first, err := c.Dial(context.Background(), 0)
	require.NoError(t, err)
	first.Close()

	// Hold the slot with an unauthenticated connection.
	pending, err := net.DialTimeout("tcp", c.Nodes[0].Addr, time.Second)
	require.NoError(t, err)
	require.NoError(t, pending.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = pending.Read(make([]byte, 64))
	require.NoError(t, err, "banner")
	// sshd's count of pending connections can lag a moment behind the
	// connection that just logged in: some login while the slot is held
	// must be dropped.
	dropped := false
	for range 10 {
		client, err := c.Dial(context.Background(), 0)
		if err != nil {
			dropped = true
			break
		}
		client.Close()
	}
	require.True(t, dropped, "a second pending login is dropped")
	assert.Contains(t, c.Log(0), "past MaxStartups")

	// The slot comes back a moment after the pending connection closes.
	require.NoError(t, pending.Close())
	deadline := time.Now().Add(5 * time.Second)
	for {
		client, err := c.Dial(context.Background(), 0)
		if err == nil {
			client.Close()
			break
		}
		require.True(t, time.Now().Before(deadline), "no login after the slot was freed: %v", err)
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKillEndsSessionsAndRefusesDials(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{})
	marker := uniqueMarker(t)
	client := c.DialNode(t, 0)
	s, err := client.NewSession()
	require.NoError(t, err)
	require.NoError(t, s.Start("sleep 30; : "+marker))
	waitProcs(t, c, marker, 1)

	c.Nodes[0].Kill(t)
	assert.False(t, c.Nodes[0].Running())
	err = waitErr(t, 5*time.Second, s.Wait)
	assert.Error(t, err, "the session died with the node")
	assert.Empty(t, c.Procs(t, marker), "Kill returns after the node's processes are gone")
	_, err = c.Dial(context.Background(), 0)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)

	c.Nodes[0].Restart(t)
	s, err = c.DialNode(t, 0).NewSession()
	require.NoError(t, err)
	out, err := s.Output("echo back")
	require.NoError(t, err, "the restarted node keeps its address and host key")
	assert.Equal(t, "back\n", string(out))
}

func TestKillReachesDetachedProcesses(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{})
	marker := uniqueMarker(t)
	s, err := c.DialNode(t, 0).NewSession()
	require.NoError(t, err)
	require.NoError(t, s.Run("nohup sh -c 'sleep 30; : "+marker+"' >/dev/null 2>&1 </dev/null &"))
	// Run returned, so the session's shell has exited and the detached
	// process has been re-parented away from the node's sshd tree: only the
	// SSH_CONNECTION in its environment ties it to the node.
	p := waitProcs(t, c, marker, 1)[0]
	for _, q := range c.Procs(t, "") {
		require.NotEqual(t, p.PPID, q.PID, "%v still has a parent in the session: %v", p, q)
	}

	c.Nodes[0].Kill(t)
	c.WaitNoProcs(t, marker, 2*time.Second)
}

func TestFreezeStopsAnswersAndThawResumes(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{})
	client := c.DialNode(t, 0)
	ok, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
	require.NoError(t, err)
	assert.False(t, ok, "OpenSSH answers keepalive@openssh.com with a failure reply")

	c.Nodes[0].Freeze(t)
	answered := make(chan error, 1)
	go func() {
		_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
		answered <- err
	}()
	select {
	case err := <-answered:
		require.FailNow(t, "a frozen node answered a keepalive", "err=%v", err)
	case <-time.After(500 * time.Millisecond):
	}
	// A new connection is accepted by the kernel but gets no banner.
	conn, err := net.DialTimeout("tcp", c.Nodes[0].Addr, time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err = conn.Read(make([]byte, 64))
	var netErr net.Error
	require.ErrorAs(t, err, &netErr)
	assert.True(t, netErr.Timeout(), "frozen node sent no banner: %v", err)

	c.Nodes[0].Thaw(t)
	select {
	case err := <-answered:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		require.FailNow(t, "the thawed node did not answer the keepalive")
	}
}

func TestProcsFindsMarkedProcessesUntilKilled(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{})
	marker := uniqueMarker(t)
	s, err := c.DialNode(t, 0).NewSession()
	require.NoError(t, err)
	require.NoError(t, s.Start("sleep 30; : "+marker))

	procs := waitProcs(t, c, marker, 1)
	p := procs[0]
	assert.Equal(t, c.UID, p.UID)
	assert.Contains(t, p.Cmdline(), "sleep 30")

	// WaitNoProcs must fail, naming the process, while it lives.
	fake := &fakeTB{}
	fake.run(func() { c.WaitNoProcs(fake, marker, 50*time.Millisecond) })
	require.Len(t, fake.fatals, 1)
	assert.Contains(t, fake.fatals[0], fmt.Sprintf("pid %d", p.PID))

	// The shell leads the session's process group; killing only the shell
	// would leave sleep holding the channel's output open, and sshd keeps
	// the session open until it closes.
	require.NoError(t, syscall.Kill(-p.PID, syscall.SIGKILL))
	c.WaitNoProcs(t, marker, 2*time.Second)
	err = waitErr(t, 5*time.Second, s.Wait)
	var exitErr *ssh.ExitError
	require.ErrorAs(t, err, &exitErr)
	assert.Equal(t, "KILL", exitErr.Signal())
}

func TestSignalReachesNonRootSession(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{})
	marker := uniqueMarker(t)
	s, err := c.DialNode(t, 0).NewSession()
	require.NoError(t, err)
	var stderr bytes.Buffer
	s.Stderr = &stderr
	require.NoError(t, s.Start("sleep 30; : "+marker))
	waitProcs(t, c, marker, 1)

	start := time.Now()
	require.NoError(t, s.Signal(ssh.SIGTERM))
	err = waitErr(t, 5*time.Second, s.Wait)
	var exitErr *ssh.ExitError
	require.ErrorAs(t, err, &exitErr, "stderr: %s", stderr.String())
	assert.Equal(t, "TERM", exitErr.Signal())
	assert.Less(t, time.Since(start), 5*time.Second)
	c.WaitNoProcs(t, marker, 2*time.Second)
}

func TestCleanupKillsFrozenNodeAndRemovesDir(t *testing.T) {
	marker := uniqueMarker(t)
	var c *sshdtest.Cluster
	t.Run("frozen", func(t *testing.T) {
		c = sshdtest.Start(t, sshdtest.Options{Nodes: 2})
		s, err := c.DialNode(t, 1).NewSession()
		require.NoError(t, err)
		require.NoError(t, s.Start("sleep 30; : "+marker))
		waitProcs(t, c, marker, 1)
		c.Nodes[1].Freeze(t)
	})
	require.NotNil(t, c)
	assert.Empty(t, c.Procs(t, marker), "cleanup waits until the frozen node's processes are gone")
	for _, n := range c.Nodes {
		assert.False(t, n.Running(), n.Name)
	}
	assert.NoDirExists(t, c.Dir)
}

// fakeTB records Fatalf calls; run executes fn on its own goroutine, as
// Fatalf ends the goroutine like testing.T does.
type fakeTB struct {
	fatals []string
}

func (f *fakeTB) Helper()                          {}
func (f *fakeTB) Logf(string, ...any)              {}
func (f *fakeTB) Cleanup(func())                   {}
func (f *fakeTB) Skipf(format string, args ...any) { f.Fatalf("skip: "+format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (f *fakeTB) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}
