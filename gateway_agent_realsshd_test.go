//go:build slow && unix

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// serveAgent serves an in-process ssh-agent holding the private key in
// keyFile on a unix socket the cluster's login user can reach, and
// returns the socket's path.
func serveAgent(t *testing.T, keyFile string) string {
	t.Helper()
	pem, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	key, err := ssh.ParseRawPrivateKey(pem)
	require.NoError(t, err)
	kr := agent.NewKeyring()
	require.NoError(t, kr.Add(agent.AddedKey{PrivateKey: key}))
	dir, err := os.MkdirTemp("", "agent") // short: unix socket paths are limited
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _ = agent.ServeAgent(kr, c) }()
		}
	}()
	return sock
}

// TestRealSSHGatewayUsesTheForwardedAgent: a gateway that holds no key
// reaches its nodes with the controller's ssh-agent when the controller's
// ssh_config says ForwardAgent for the gateway, as ssh -A would give it;
// without ForwardAgent it has no credential and the nodes refuse it. No
// key is copied anywhere.
func TestRealSSHGatewayUsesTheForwardedAgent(t *testing.T) {
	// The gateways' ssh_config: the cluster's, without any identity file.
	b := newGatewayBed(t, gatewayBedOptions{nodes: 3, gateways: 1, agentOnly: true})
	c := b.c
	sock := serveAgent(t, c.ClientKey)
	t.Setenv("SSH_AUTH_SOCK", sock)

	entries, _ := os.ReadDir(filepath.Join(c.Home, ".ssh"))
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), "id_"), "the gateway's user holds a key of its own: %s", e.Name())
	}

	run := func(forward bool) result {
		var extra []string
		if forward {
			extra = []string{"Host node1", "    ForwardAgent yes"}
		}
		ctl := b.controllerConfig(t, fmt.Sprintf("controller-%v", forward), extra...)
		return drove(t, nil, nil, b.via(ctl, "--connect-timeout", "10s", "-n", "node[2-3]", "-E", "echo reached $(hostname) as $(id -un)")...)
	}
	r := run(false)
	require.NotEqual(t, exitOK, r.code, "reached the nodes without a credential: %s", r.stdout)
	require.Contains(t, r.stderr, "node node2 dropped: via gateway node1: nodes: node2: no key to offer")

	r = run(true)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, 2, strings.Count(r.stdout, "reached "), r.stdout)
	require.Contains(t, r.stdout, " as "+c.User+"\n")
	b.noneLeft(t, "")
}
