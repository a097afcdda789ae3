//go:build slow && linux

package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/require"
)

// TestSIGKILLWithForkingProxyCommandLeavesNoJob: a drove killed with
// SIGKILL while its node is reached through a ProxyCommand that forks (a
// relay in bash, "a | b") leaves nothing running: the relay's processes,
// which hold the TCP connection, die, so sshd sees the connection end and
// the job on the node dies with its session (issue 20.3).
func TestSIGKILLWithForkingProxyCommandLeavesNoJob(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	mark := fmt.Sprintf("droveproxykill%d", time.Now().UnixNano())
	// Both cats hold the connection (fd 3), and carry the mark in their
	// argv[0]; the first element of the pipeline and the last are
	// children of the ProxyCommand's shell.
	relay := `bash -c 'exec 3<>/dev/tcp/%h/%p; (exec -a ` + mark + `relay cat <&3) & exec -a ` + mark + `relay cat >&3' | cat`
	cfg := c.WriteSSHConfig(t, "proxy_config", "Host node1", "    ProxyCommand "+relay)

	p := droveProcess(t, "-F", cfg, "-n", "node1", "-j", "sleep 300; : "+mark)
	require.Eventually(t, func() bool { return len(c.Procs(t, "sleep 300; : "+mark)) >= 1 }, 30*time.Second, 20*time.Millisecond,
		"the job never started: %v", p.Stderr)
	require.True(t, procWithArg(mark+"relay"), "the relay is not running")
	require.NoError(t, p.Process.Signal(syscall.SIGKILL))
	_ = p.Wait()

	require.Eventually(t, func() bool { return !procWithArg(mark + "relay") }, 20*time.Second, 20*time.Millisecond,
		"the ProxyCommand's children outlived drove")
	c.WaitNoProcs(t, mark, 20*time.Second)
}
