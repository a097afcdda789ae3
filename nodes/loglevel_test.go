package nodes

import (
	"fmt"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestLogLevelGovernsNotes: LogLevel QUIET/ERROR silences drove's notes
// about a host (here: accept-new recording a key, a bad option value);
// VERBOSE adds which known_hosts line matched.
func TestLogLevelGovernsNotes(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("quiet", srv, "LogLevel QUIET", "StrictHostKeyChecking accept-new", "ServerAliveCountMax zero")
	env.host("loud", srv, "LogLevel VERBOSE", "ServerAliveCountMax zero")
	d, rec := env.dialer(Options{})
	c, err := dial(t, d, "quiet")
	require.NoError(t, err)
	c.Close()
	assert.Empty(t, rec.Lines())

	c, err = dial(t, d, "loud")
	require.NoError(t, err)
	c.Close()
	fp := ssh.FingerprintSHA256(srv.HostKeys[0].PublicKey())
	assert.Equal(t, []string{
		`nodes: loud: ignoring ssh_config ServerAliveCountMax "zero": want a positive number`,
		fmt.Sprintf("nodes: loud: host key ssh-ed25519 %s matches ~/.ssh/known_hosts:1", fp),
	}, rec.Lines())
	assert.False(t, strings.Contains(strings.Join(rec.Lines(), "\n"), "quiet"))
}
