//go:build unix

package sshdtest

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bindExclusive binds and closes a socket on addr without SO_REUSEADDR, as
// a process wanting the port for itself would, and returns the bind error.
func bindExclusive(t *testing.T, addr string) error {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	require.NoError(t, err)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer syscall.Close(fd)
	return syscall.Bind(fd, &syscall.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())})
}

// runTrue runs "true" on node i over a fresh connection.
func runTrue(t *testing.T, c *Cluster, i int) {
	t.Helper()
	client := c.DialNode(t, i)
	s, err := client.NewSession()
	require.NoError(t, err)
	require.NoError(t, s.Run("true"))
}

// TestNodePortIsHeldFromChoiceToCleanup: nobody else can bind a node's port
// between the kernel choosing it and sshd binding it, nor while the node is
// killed; a killed node refuses connections and Restart gets the port back.
// Start makes no connection before the checks, so no TIME_WAIT socket can
// be what blocks the binds.
func TestNodePortIsHeldFromChoiceToCleanup(t *testing.T) {
	var beforeLaunch error
	c := Start(t, Options{beforeLaunch: func(n *Node) { beforeLaunch = bindExclusive(t, n.Addr) }})
	n := c.Nodes[0]
	require.ErrorIs(t, beforeLaunch, syscall.EADDRINUSE, "the port was free for the taking before sshd bound it")

	n.Kill(t)
	require.ErrorIs(t, bindExclusive(t, n.Addr), syscall.EADDRINUSE, "the port was released while the node was down")
	_, err := net.DialTimeout("tcp", n.Addr, 5*time.Second)
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "a killed node refuses connections")

	n.Restart(t)
	runTrue(t, c, 0)
}

// TestStartMovesNodeOffPortSomeoneListensOn: a process that names the
// node's port and listens there before sshd does (SO_REUSEADDR lets it
// bind beside the hold) makes Start move the node to another held port.
func TestStartMovesNodeOffPortSomeoneListensOn(t *testing.T) {
	squatted := ""
	c := Start(t, Options{Nodes: 2, beforeLaunch: func(n *Node) {
		if squatted != "" {
			return
		}
		l, err := net.Listen("tcp", n.Addr) // Go sets SO_REUSEADDR
		require.NoError(t, err)
		t.Cleanup(func() { l.Close() })
		squatted = n.Addr
	}})
	require.NotEmpty(t, squatted)
	assert.NotEqual(t, squatted, c.Nodes[0].Addr, "node1 moved")
	assert.Contains(t, c.Log(0), "Address already in use", "sshd really met the squatter")
	runTrue(t, c, 0)
	runTrue(t, c, 1)
}
