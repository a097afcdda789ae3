//go:build slow && unix

package nodes

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestRealSSHDSessionOptions: with no help from the caller (a plain
// NewSession on the client Dial returns), SetEnv and SendEnv reach a real sshd that
// accepts them (AcceptEnv), a variable it does not accept is dropped
// silently, and ForwardAgent gives the session the local agent's keys.
func TestRealSSHDSessionOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("real sshd tests skipped with -short")
	}
	c := sshdtest.Start(t, sshdtest.Options{ExtraConfig: []string{"AcceptEnv DROVE_*"}})
	agentKey := newClientKey(t)
	sock := startAgent(t, agentKey)
	t.Setenv("DROVE_SENT", "from-local-env")
	t.Setenv("DROVE_NOT_SENT", "nope")
	cfg := c.WriteSSHConfig(t, "session_config",
		"Host node1",
		"    SetEnv DROVE_SET=\"two words\" REFUSED_BY_SSHD=x",
		"    SendEnv DROVE_SE* -DROVE_NOT*",
		"    SendEnv DROVE_NOT_SENT_EITHER",
		"    ForwardAgent yes",
		"    IdentityAgent "+sock,
	)
	d, rec := newTestDialer(t, Options{ConfigFile: cfg, Home: t.TempDir()})
	tg := resolve(t, d, "node1")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cl, err := d.Dial(ctx, tg)
	require.NoError(t, err, "%q", rec.Lines())
	defer cl.Close()

	s, err := cl.NewSession()
	require.NoError(t, err)
	out, err := s.Output(`echo "set=$DROVE_SET sent=$DROVE_SENT not=$DROVE_NOT_SENT refused=$REFUSED_BY_SSHD"; ssh-add -L`)
	require.NoError(t, err, "%s", out)
	lines := strings.SplitN(string(out), "\n", 2)
	assert.Equal(t, "set=two words sent=from-local-env not= refused=", lines[0])
	assert.Equal(t, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(agentKey.pub))), strings.Fields(lines[1])[0]+" "+strings.Fields(lines[1])[1])
}
