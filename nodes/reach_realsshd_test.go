//go:build slow && unix

package nodes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealSSHDReachedThroughProxyCommandAndMatch: a real sshd node reached
// only through a ProxyCommand (its HostName does not resolve), and one
// reached only through a Match block (no Host block names it). ssh(1) with
// the same files is the oracle; drove must log in and run a command.
func TestRealSSHDReachedThroughProxyCommandAndMatch(t *testing.T) {
	if testing.Short() {
		t.Skip("real sshd tests skipped with -short")
	}
	sshClient(t)
	c := sshdtest.Start(t, sshdtest.Options{})
	n := c.Nodes[0]
	dir, err := os.MkdirTemp("", "drove-reach-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	kh := filepath.Join(dir, "known_hosts")
	require.NoError(t, os.WriteFile(kh, []byte("proxied-alias "+n.HostKeyPub+"\n"+
		fmt.Sprintf("[%s]:%d %s\n", n.Host, n.Port, n.HostKeyPub)), 0o600))
	pidFile := filepath.Join(dir, "pid")
	cfg := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`Host proxied
    HostName proxied.invalid
    HostKeyAlias proxied-alias
    User %s
    ProxyCommand %s

Match originalhost matched user %s
    HostName %s

Match originalhost proxied,matched
    Port %d
    IdentityFile %s
    IdentitiesOnly yes
    IdentityAgent none
    UserKnownHostsFile %s
    GlobalKnownHostsFile none
    StrictHostKeyChecking yes
    ConnectTimeout 5
`, c.User, helperCommand(t, pidFile, n.Host, "%p"), c.User, n.Host, n.Port, c.ClientKey, kh)), 0o600))

	for _, host := range []string{"proxied", c.User + "@matched"} {
		t.Run(host, func(t *testing.T) {
			ok, out := openSSHConnects(t, cfg, host)
			require.True(t, ok, "ssh: %s", out)
			stderr := &testkit.Buffer{}
			d, rec := newTestDialer(t, Options{ConfigFile: cfg, Home: dir, ProxyStderr: stderr})
			tg := resolve(t, d, host)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			cl, err := d.Dial(ctx, tg)
			require.NoError(t, err, "notes: %q", rec.Lines())
			out = run(t, cl, "id -un")
			assert.Equal(t, c.User, strings.TrimSpace(out))
			require.NoError(t, cl.Close())
			if tg.ProxyCommand != "" {
				assert.Contains(t, stderr.String(), "proxied: helper connecting to "+n.Addr)
				assert.False(t, alive(readPid(t, pidFile)))
			}
		})
	}
}
