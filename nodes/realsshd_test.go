//go:build slow && unix

package nodes

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// realSSHD starts one OpenSSH sshd node (internal/sshdtest) serving the
// given host keys and accepting the authorized client key for its login
// user, or skips the test under -short (and as sshdtest does: no sshd, not
// root, outside CI).
func realSSHD(t *testing.T, hostKeys []crypto.Signer, authorized ssh.PublicKey, extra ...string) (*sshdtest.Cluster, *sshdtest.Node) {
	t.Helper()
	if testing.Short() {
		t.Skip("real sshd tests skipped with -short")
	}
	c := sshdtest.Start(t, sshdtest.Options{HostKeys: hostKeys, AuthorizedKeys: []ssh.PublicKey{authorized}, ExtraConfig: extra})
	return c, c.Nodes[0]
}

func TestRealSSHD(t *testing.T) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	key := newClientKey(t)
	c, srv := realSSHD(t, []crypto.Signer{edPriv, ecPriv}, key.pub)
	ed := srv.HostKeys[0]

	env := newClientEnv(t)
	key.write(t, filepath.Join(env.home, ".ssh", "id_ed25519"), false)
	env.hostAt("real", srv.Addr, "User "+c.User)
	d, _ := env.dialer(Options{StrictHostKeyChecking: "accept-new"})
	cl, err := dial(t, d, "real")
	require.NoError(t, err)
	s, err := cl.NewSession()
	require.NoError(t, err)
	out, err := s.Output("echo hello from sshd")
	require.NoError(t, err)
	assert.Equal(t, "hello from sshd\n", string(out))
	cl.Close()

	// Only the Ed25519 key on file (x/crypto would pick ECDSA by default).
	require.NoError(t, os.Remove(env.kh))
	env.trustAt(srv.Addr, ed)
	d, _ = env.dialer(Options{})
	cl, err = dial(t, d, "real")
	require.NoError(t, err)
	cl.Close()

	// A key sshd does not know.
	other := newClientEnv(t)
	newClientKey(t).write(t, filepath.Join(other.home, ".ssh", "id_ed25519"), false)
	other.hostAt("real", srv.Addr, "User "+c.User)
	other.trustAt(srv.Addr, srv.HostKeys...)
	d, _ = other.dialer(Options{})
	_, err = dial(t, d, "real")
	assert.Equal(t, "nodes: real: no accepted key (tried ~/.ssh/id_ed25519)", asError[*AuthError](t, err).Error())
}

func TestRealSSHDMaxStartups(t *testing.T) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	key := newClientKey(t)
	c, srv := realSSHD(t, []crypto.Signer{edPriv}, key.pub, "MaxStartups 3")
	env := newClientEnv(t)
	key.write(t, filepath.Join(env.home, ".ssh", "id_ed25519"), false)
	env.hostAt("real", srv.Addr, "User "+c.User)
	env.trustAt(srv.Addr, srv.HostKeys...)

	// 12 simultaneous logins to an sshd with MaxStartups 3: with one attempt
	// most are dropped during key exchange (measured: 10 of 12), and every
	// drop must classify as retryable; the default retries recover them
	// (measured: 0 of 12 failed over 5 runs).
	failures := map[int]int{}
	for _, attempts := range []int{1, 4} {
		d, _ := env.dialer(Options{DialAttempts: attempts})
		tg := resolve(t, d, "real")
		errs := make([]error, 12)
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
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
				if attempts == 1 {
					assert.True(t, Retryable(err), "a MaxStartups drop must be retryable: %v", err)
				}
			}
		}
		t.Logf("attempts=%d: %d of %d failed", attempts, failed, len(errs))
		failures[attempts] = failed
	}
	assert.Positive(t, failures[1], "MaxStartups 3 should drop some of 12 simultaneous logins")
	assert.Less(t, failures[4], failures[1], "retries should recover dropped logins")
}
