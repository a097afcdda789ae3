//go:build unix

package nodes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyHelperEnv makes the test binary act as a ProxyCommand: connect to
// the address in its arguments and copy stdin/stdout both ways.
const proxyHelperEnv = "DROVE_NODES_PROXY_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(proxyHelperEnv) != "" {
		os.Exit(proxyHelper(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// proxyHelper is the ProxyCommand body: args are host and port, then
// anything; it writes its pid and then all its arguments, one line, to
// $DROVE_PROXY_PIDFILE and a line to stderr.
func proxyHelper(args []string) int {
	if f := os.Getenv("DROVE_PROXY_PIDFILE"); f != "" {
		_ = os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())+"\n"+strings.Join(args, " ")+"\n"), 0o644)
	}
	fmt.Fprintf(os.Stderr, "helper connecting to %s\n", net.JoinHostPort(args[0], args[1]))
	c, err := net.DialTimeout("tcp", net.JoinHostPort(args[0], args[1]), 5*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		_, _ = io.Copy(c, os.Stdin)
		c.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(os.Stdout, c)
	return 0
}

// helperCommand is a ProxyCommand running this test binary as proxyHelper.
func helperCommand(t *testing.T, pidFile, host, port string, more ...string) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return strings.Join(append([]string{"env", proxyHelperEnv + "=1", "DROVE_PROXY_PIDFILE=" + pidFile, exe, host, port}, more...), " ")
}

// alive reports whether pid is a live process (a zombie waiting for a
// reaper counts as dead).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i < 0 || i+2 >= len(data) || data[i+2] != 'Z'
}

func readPid(t *testing.T, f string) int {
	t.Helper()
	data, err := os.ReadFile(f)
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	require.NoError(t, err)
	return pid
}

// proxyEnv is a server reachable only through a ProxyCommand: its HostName
// does not resolve. Its ConnectTimeout is only setup (a loaded machine may
// take seconds to start the command and finish a handshake): tests about
// the timeout set their own on the target.
func proxyEnv(t *testing.T, proxy string) (*sshtest.Server, *Dialer, *logRecorder, *testkit.Buffer) {
	t.Helper()
	srv, env := hostKeySetup(t, sshtest.Options{})
	fmt.Fprintf(&env.hosts, "Host hidden\n    HostName hidden.invalid\n    Port %d\n    ConnectTimeout 30\n"+
		"    ProxyCommand %s\n    HostKeyAlias hidden-alias\n", srv.Port, proxy)
	require.NoError(t, os.MkdirAll(filepath.Dir(env.kh), 0o700))
	require.NoError(t, writeFile(env.kh, "hidden-alias "+authLine(srv.HostKeys[0].PublicKey())+"\n"))
	stderr := &testkit.Buffer{}
	d, rec := env.dialer(Options{ProxyStderr: stderr})
	return srv, d, rec, stderr
}

func TestProxyCommandCarriesTheConnection(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// %p is the node's Port (the server's), %h the unresolvable HostName.
	cmd := helperCommand(t, pidFile, "127.0.0.1", "%p", "%h", "%p", "%r", "%n", "%%")
	srv, d, _, stderr := proxyEnv(t, cmd)
	tg := resolve(t, d, "hidden")
	c, err := d.Dial(t.Context(), tg)
	require.NoError(t, err)
	assert.Equal(t, tg.User+":echo hi", run(t, c, "echo hi"))
	data, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid := readPid(t, pidFile)
	assert.Equal(t, fmt.Sprintf("%d\n127.0.0.1 %d hidden.invalid %d %s hidden %%\n", pid, srv.Port, srv.Port, tg.User), string(data))
	assert.True(t, alive(pid))
	assert.Contains(t, stderr.String(), fmt.Sprintf("hidden: helper connecting to 127.0.0.1:%d\n", srv.Port))
	require.NoError(t, c.Close())
	// Closing the client closes the conn, which reaps the command.
	assert.False(t, alive(pid), "the ProxyCommand outlived the connection")
}

func TestProxyCommandKilledWhenServerCloses(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	srv, d, _, _ := proxyEnv(t, helperCommand(t, pidFile, "127.0.0.1", "%p"))
	_ = srv
	tg := resolve(t, d, "hidden")
	c, err := d.Dial(t.Context(), tg)
	require.NoError(t, err)
	pid := readPid(t, pidFile)
	// Kill the helper's TCP side by closing the server-side connection:
	// the helper's copy ends, it exits, the client's Wait returns.
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("client did not notice the ProxyCommand's death")
	}
	require.Eventually(t, func() bool { return !alive(pid) }, 30*time.Second, 5*time.Millisecond, "the ProxyCommand to be reaped")
}

func TestProxyCommandExitsEarly(t *testing.T) {
	_, d, _, stderr := proxyEnv(t, `sh -c "echo 'no route to bastion' >&2; exit 3"`)
	tg := resolve(t, d, "hidden")
	_, err := d.Dial(t.Context(), tg)
	// An exit is a failure at once: the command's own error, not the
	// connect timeout that a missed exit would end in.
	de := asError[*DialError](t, err)
	assert.False(t, de.Timeout, "%v", err)
	pe := asError[*ProxyCommandError](t, err)
	assert.Contains(t, pe.Err.Error(), "exit status 3")
	assert.Equal(t, "no route to bastion", pe.Stderr)
	assert.Equal(t, `nodes: hidden: ProxyCommand "sh -c \"echo 'no route to bastion' >&2; exit 3\"" failed: exit status 3 (stderr: no route to bastion)`, err.Error())
	assert.False(t, Retryable(err))
	assert.Equal(t, "hidden: no route to bastion\n", stderr.String())
}

// TestProxyCommandHangsIsTimeout: a command that started and never speaks
// ends in the target's ConnectTimeout and is killed. The timeout starts
// short; only if it ran out before the command had even started (its pid
// file is missing: a loaded machine) is it doubled and the dial tried again.
func TestProxyCommandHangsIsTimeout(t *testing.T) {
	for timeout := 300 * time.Millisecond; ; timeout *= 2 {
		require.Less(t, timeout, 30*time.Second, "the command never started within the timeout")
		if proxyCommandHangs(t, timeout) {
			return
		}
	}
}

// proxyCommandHangs runs TestProxyCommandHangsIsTimeout's dial with the
// given timeout; false means the command had not started when it ran out.
func proxyCommandHangs(t *testing.T, timeout time.Duration) bool {
	pidFile := filepath.Join(t.TempDir(), "pid")
	_, d, _, _ := proxyEnv(t, "sh -c 'echo $$ > "+pidFile+".tmp; mv "+pidFile+".tmp "+pidFile+"; exec sleep 1000'")
	tg := resolve(t, d, "hidden")
	tg.ConnectTimeout = timeout
	start := time.Now()
	_, err := d.Dial(t.Context(), tg)
	de := asError[*DialError](t, err)
	require.True(t, de.Timeout, "%v", err)
	assert.Less(t, time.Since(start), 30*time.Second, "ended by the host's ConnectTimeout, not the target's")
	assert.Contains(t, err.Error(), fmt.Sprintf("connect timeout after %v (ProxyCommand ", timeout))
	if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
		return false
	}
	assert.False(t, alive(readPid(t, pidFile)), "the hung command was not killed")
	return true
}

func TestProxyCommandCancelKills(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The command starts a child that ignores SIGHUP: the whole group is
	// killed anyway.
	_, d, _, _ := proxyEnv(t, `sh -c "trap '' HUP; sleep 1000 & echo \$! > `+pidFile+`; wait"`)
	tg := resolve(t, d, "hidden")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := d.Dial(ctx, tg)
		errc <- err
	}()
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(pidFile)
		return err == nil && len(bytes.TrimSpace(data)) > 0
	}, 5*time.Second, 5*time.Millisecond, "the command to start")
	cancel()
	err := <-errc
	assert.ErrorIs(t, err, context.Canceled)
	testkit.WaitFor(t, 30*time.Second, "the command's child to be killed", func() bool { return !alive(readPid(t, pidFile)) })
}

func TestProxyCommandAndProxyJumpPrecedence(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	require.NoError(t, writeFile(cfg, `Host both
    ProxyJump bastion
    ProxyCommand nc %h %p
Host cmdfirst
    ProxyCommand nc %h %p
    ProxyJump bastion
Host none
    ProxyCommand none
Host *
    ProxyJump fleetjump
`))
	d, _ := newTestDialer(t, Options{ConfigFile: cfg, Home: home})
	s, _ := hostlist.ParseSpec("both")
	_, err := d.Resolve(s)
	assert.EqualError(t, err, "nodes: both: inconsistent ssh_config: ProxyJump (~/config:2) and ProxyCommand (~/config:3) both set, as ssh refuses")
	tg := resolve(t, d, "cmdfirst")
	assert.Equal(t, "nc cmdfirst 22", tg.ProxyCommand)
	assert.Nil(t, tg.Jump)
	tg = resolve(t, d, "none")
	assert.Equal(t, "", tg.ProxyCommand)
	assert.Nil(t, tg.Jump, "ProxyCommand none set first: the later ProxyJump is ignored")
}
