package nodes

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDialIdentityFile(t *testing.T) {
	key := newClientKey(t)
	srv := startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{key.pub}})
	env := newClientEnv(t)
	env.host("web1", srv, "User alice")
	env.trust(srv)
	key.write(t, filepath.Join(env.home, ".ssh", "id_ed25519"), false) // a default identity file
	d, rec := env.dialer(Options{})

	c, err := dial(t, d, "web1")
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "alice:echo hi", run(t, c, "echo hi"))
	assert.Empty(t, rec.Lines())

	// The spec's user beats ssh_config.
	c2, err := dial(t, d, "bob@web1")
	require.NoError(t, err)
	defer c2.Close()
	assert.Equal(t, "bob:x", run(t, c2, "x"))
}

func TestDialAgent(t *testing.T) {
	key := newClientKey(t)
	srv := startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{key.pub}})
	env := newClientEnv(t)
	env.host("web1", srv)
	env.trust(srv)
	sock := startAgent(t, newClientKey(t), key) // the first agent key is not authorized
	d, rec := env.dialer(Options{AgentSocket: &sock})

	// Concurrent dials share the one agent connection.
	tg := resolve(t, d, "web1")
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			c, err := d.Dial(t.Context(), tg)
			if err == nil {
				c.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	c, err := dial(t, d, "web1")
	require.NoError(t, err)
	assert.Equal(t, currentUser()+":id", run(t, c, "id"))
	require.NoError(t, c.Close())
	assert.Empty(t, rec.Lines())
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "Close twice is fine")
}

func TestDialIdentitiesOnlyFiltersAgent(t *testing.T) {
	good, other := newClientKey(t), newClientKey(t)
	srv := startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{good.pub, other.pub}})
	env := newClientEnv(t)
	goodFile := filepath.Join(env.home, "keys", "good")
	otherFile := filepath.Join(env.home, "keys", "other")
	// Only the public halves are on disk: the private keys live in the agent.
	good.writePub(t, goodFile)
	other.writePub(t, otherFile)
	env.host("good", srv, "IdentitiesOnly yes", "IdentityFile "+goodFile)
	env.host("missing", srv, "IdentitiesOnly yes", "IdentityFile "+filepath.Join(env.home, "keys", "nope"))
	env.trust(srv)
	sock := startAgent(t, other, good)
	d, rec := env.dialer(Options{AgentSocket: &sock})

	c, err := dial(t, d, "good")
	require.NoError(t, err)
	c.Close()
	assert.Empty(t, rec.Lines())

	// With IdentitiesOnly and no matching identity file, agent keys are not
	// offered even though the server would accept them.
	_, err = dial(t, d, "missing")
	ae := asError[*AuthError](t, err)
	assert.Empty(t, ae.Offered)
	assert.Equal(t, "nodes: missing: no key to offer (no agent keys, no usable identity file)", err.Error())
}

func TestDialKeyNotAuthorized(t *testing.T) {
	srv := startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{newClientKey(t).pub}})
	env := newClientEnv(t)
	env.host("web1", srv)
	env.trust(srv)
	newClientKey(t).write(t, filepath.Join(env.home, ".ssh", "id_ed25519"), true)
	sock := startAgent(t, newClientKey(t))
	d, _ := env.dialer(Options{AgentSocket: &sock})

	_, err := dial(t, d, "web1")
	ae := asError[*AuthError](t, err)
	assert.Equal(t, "web1", ae.Node)
	assert.Equal(t, "nodes: web1: no accepted key (tried agent, ~/.ssh/id_ed25519)", err.Error())
	assert.Contains(t, ae.Unwrap().Error(), "unable to authenticate")
	assert.False(t, Retryable(err))
}

func TestDialEncryptedKeyWithoutAgent(t *testing.T) {
	env := newClientEnv(t)
	key := encryptedKey(t, filepath.Join(env.home, ".ssh", "id_ed25519"))
	srv := startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{key.pub}})
	env.host("web1", srv)
	env.trust(srv)
	d, rec := env.dialer(Options{}) // no agent; stdin is never read

	for i := 0; i < 2; i++ {
		_, err := dial(t, d, "web1")
		ae := asError[*AuthError](t, err)
		assert.Equal(t, []string{"~/.ssh/id_ed25519"}, ae.Skipped)
		assert.Equal(t, "nodes: web1: no key to offer (no agent keys, no usable identity file); "+
			"skipped encrypted ~/.ssh/id_ed25519 (add it to ssh-agent)", err.Error())
	}
	assert.Equal(t, []string{"nodes: skipping encrypted identity file ~/.ssh/id_ed25519: " +
		"drove never prompts for a passphrase; add the key to ssh-agent"}, rec.Lines(), "noted once per Dialer")
}

func TestDialEncryptedKeyInAgent(t *testing.T) {
	env := newClientEnv(t)
	keyFile := filepath.Join(env.home, ".ssh", "id_ed25519")
	key := encryptedKey(t, keyFile)
	srv := startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{key.pub}})
	env.host("web1", srv)
	env.host("only", srv, "IdentitiesOnly yes", "IdentityFile "+keyFile)
	env.trust(srv)
	sock := startAgent(t, newClientKey(t), key)
	d, rec := env.dialer(Options{AgentSocket: &sock})

	for _, alias := range []string{"web1", "only"} {
		c, err := dial(t, d, alias)
		require.NoError(t, err, alias)
		c.Close()
	}
	assert.Empty(t, rec.Lines(), "the agent holds the encrypted key, so nothing is skipped")
}

func TestIdentityFileProblems(t *testing.T) {
	env := newClientEnv(t)
	garbage := filepath.Join(env.home, "garbage")
	require.NoError(t, writeFile(garbage, "not a key"))
	d, rec := env.dialer(Options{})
	var st authState
	signers := d.signers(&Target{IdentityFiles: []string{filepath.Join(env.home, "absent"), garbage}}, &st)
	assert.Empty(t, signers)
	assert.Empty(t, st.offered)
	require.Len(t, rec.Lines(), 1)
	assert.True(t, strings.HasPrefix(rec.Lines()[0], "nodes: skipping identity file ~/garbage: "), rec.Lines()[0])
}

func TestAgentUnreachable(t *testing.T) {
	env := newClientEnv(t)
	sock := filepath.Join(env.home, "no-such-socket")
	d, rec := env.dialer(Options{AgentSocket: &sock})
	assert.Nil(t, d.agentClient(nil))
	assert.Nil(t, d.agentClient(nil), "tried once")
	require.Len(t, rec.Lines(), 1)
	assert.Contains(t, rec.Lines()[0], "nodes: not using ssh-agent at "+sock)
}

func TestDialServerWithoutPublicKeyAuth(t *testing.T) {
	srv := startServer(t, sshtest.Options{PasswordOnly: true})
	env := newClientEnv(t)
	env.host("web1", srv)
	env.trust(srv)
	newClientKey(t).write(t, filepath.Join(env.home, ".ssh", "id_ed25519"), false)
	d, _ := env.dialer(Options{})
	_, err := dial(t, d, "web1")
	ae := asError[*AuthError](t, err)
	assert.Empty(t, ae.Offered)
	assert.Contains(t, err.Error(), "nodes: web1: the server does not accept public-key authentication (")
}
