package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// dialTo returns a dial function for NewSSH that logs in to ts.
func dialTo(ts *sshtest.Server) func(ctx context.Context) (*ssh.Client, error) {
	return func(ctx context.Context) (*ssh.Client, error) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		signer, _ := ssh.NewSignerFromKey(priv)
		cfg := &ssh.ClientConfig{
			User:            "test",
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: ssh.FixedHostKey(ts.Signer.PublicKey()),
			Timeout:         5 * time.Second,
		}
		return ssh.Dial("tcp", ts.Addr, cfg)
	}
}

// hostOn connects an SSH host to ts, closed at the end of the test.
func hostOn(t testing.TB, ts *sshtest.Server, opts SSHOptions) *SSH {
	t.Helper()
	h, err := NewSSH(context.Background(), ts.Addr, dialTo(ts), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// guardNow returns the guard of h's first connection if it is up, counting
// a job there as guardFor does (so that a second call starts it).
func guardNow(h *SSH) *guard {
	g, _ := h.guardFor(h.conns[0])
	return g
}
