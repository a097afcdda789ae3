package nodes

import (
	"fmt"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// jumpSetup starts a jump server and a target server that both accept one
// client key, and an env whose default identity is that key.
func jumpSetup(t *testing.T) (jump, target *sshtest.Server, env *clientEnv) {
	t.Helper()
	key := newClientKey(t)
	jump = startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{key.pub}, Forwarding: true})
	target = startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{key.pub}})
	env = newClientEnv(t)
	key.write(t, env.home+"/.ssh/id_ed25519", false)
	return jump, target, env
}

func TestDialProxyJump(t *testing.T) {
	jump, target, env := jumpSetup(t)
	env.host("bastion", jump, "User jumper")
	env.host("inner", target, "ProxyJump bastion", "User deploy")
	env.trust(jump)
	env.trust(target)
	d, _ := env.dialer(Options{})

	tg := resolve(t, d, "inner")
	require.Len(t, tg.Jump, 1)
	c, err := dial(t, d, "inner")
	require.NoError(t, err)
	assert.Equal(t, "deploy:hostname", run(t, c, "hostname"))
	select {
	case dest := <-jump.Forwards():
		assert.Equal(t, target.Addr, dest, "the target was reached through the jump host")
	default:
		t.Fatal("the jump host forwarded nothing")
	}
	assert.Equal(t, 1, jump.OpenConns())
	assert.Equal(t, 1, target.OpenConns())

	// Closing the target client closes the jump client too.
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool { return jump.OpenConns() == 0 }, 3*time.Second, 5*time.Millisecond, "the jump connection to close")
	require.Eventually(t, func() bool { return target.OpenConns() == 0 }, 3*time.Second, 5*time.Millisecond, "the target connection to close")
}

func TestDialJumpOption(t *testing.T) {
	jump, target, env := jumpSetup(t)
	env.host("bastion", jump)
	env.host("inner", target)
	env.trust(jump)
	env.trust(target)
	d, _ := env.dialer(Options{Jump: "bastion"})

	c, err := dial(t, d, "inner")
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, currentUser()+":x", run(t, c, "x"))
	assert.Equal(t, target.Addr, <-jump.Forwards())
}

func TestDialJumpHostErrorsNameTheHop(t *testing.T) {
	jump, target, env := jumpSetup(t)
	env.host("bastion", jump)
	env.host("inner", target, "ProxyJump bastion")
	env.trust(target) // the jump host's key is unknown
	d, _ := env.dialer(Options{})

	_, err := dial(t, d, "inner")
	hk := asError[*HostKeyError](t, err)
	assert.True(t, hk.Unknown)
	assert.Equal(t, "bastion (jump host for inner)", hk.Node)
	assert.Contains(t, err.Error(), "nodes: bastion (jump host for inner): host key unknown")
	assert.Zero(t, target.OpenConns())
}

func TestDialJumpTargetFailureClosesHop(t *testing.T) {
	jump, target, env := jumpSetup(t)
	env.host("bastion", jump)
	env.host("inner", target, "ProxyJump bastion")
	env.trust(jump) // the target's key is unknown
	d, _ := env.dialer(Options{})

	_, err := dial(t, d, "inner")
	hk := asError[*HostKeyError](t, err)
	assert.Equal(t, "inner", hk.Node)
	require.Eventually(t, func() bool { return jump.OpenConns() == 0 }, 3*time.Second, 5*time.Millisecond, "the jump connection to close")
}

func TestDialJumpRefusedForwarding(t *testing.T) {
	// A jump host that refuses forwarding gives a DialError for the target.
	key := newClientKey(t)
	jump := startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{key.pub}}) // no forwarding
	target := startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{key.pub}})
	env := newClientEnv(t)
	key.write(t, env.home+"/.ssh/id_ed25519", false)
	env.host("bastion", jump)
	env.host("inner", target, "ProxyJump bastion")
	env.trust(jump)
	env.trust(target)
	d, _ := env.dialer(Options{})

	_, err := dial(t, d, "inner")
	de := asError[*DialError](t, err)
	assert.Equal(t, "inner", de.Node)
	assert.Equal(t, fmt.Sprintf("nodes: inner: %s: %v", target.Addr, de.Err), err.Error())
	require.Eventually(t, func() bool { return jump.OpenConns() == 0 }, 3*time.Second, 5*time.Millisecond, "the jump connection to close")
}
