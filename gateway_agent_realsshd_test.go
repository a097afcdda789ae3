//go:build slow && unix

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/sshdtest"
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
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 3})
	bin := buildDrove(t)
	sock := serveAgent(t, c.ClientKey)
	t.Setenv("SSH_AUTH_SOCK", sock)

	// The gateways' ssh_config: the cluster's, without any identity file.
	cfg, err := os.ReadFile(c.SSHConfig)
	require.NoError(t, err)
	noKey := regexp.MustCompile(`(?m)^\s*(IdentityFile|IdentitiesOnly) .*\n`).ReplaceAllString(string(cfg), "")
	dir := filepath.Join(c.Dir, "gw-agent")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	gwCfg := filepath.Join(dir, "ssh_config")
	require.NoError(t, os.WriteFile(gwCfg, []byte(noKey), 0o600))
	for _, f := range []string{dir, gwCfg} {
		require.NoError(t, os.Chown(f, c.UID, c.GID))
	}
	entries, _ := os.ReadDir(filepath.Join(c.Home, ".ssh"))
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), "id_"), "the gateway's user holds a key of its own: %s", e.Name())
	}

	run := func(forward bool) result {
		extra := []string{"Host node2 node3", "    Port 1"}
		if forward {
			extra = append(extra, "Host node1", "    ForwardAgent yes")
		}
		ctl := c.WriteSSHConfig(t, fmt.Sprintf("controller-%v", forward), extra...)
		return drove(t, nil, nil, "-F", ctl, "--gateway", "node1", "--gateway-binary", bin,
			"--gateway-ssh-config", gwCfg, "--connect-timeout", "10s", "-n", "node[2-3]", "-E", "echo reached $(hostname) as $(id -un)")
	}
	r := run(false)
	require.NotEqual(t, exitOK, r.code, "reached the nodes without a credential: %s", r.stdout)
	require.Contains(t, r.stderr, "node node2 dropped: via gateway node1: nodes: node2: no key to offer")

	r = run(true)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, 2, strings.Count(r.stdout, "reached "), r.stdout)
	require.Contains(t, r.stdout, " as "+c.User+"\n")
}
