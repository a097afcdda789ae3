package nodes

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// realSSHD starts OpenSSH's sshd on 127.0.0.1 with the given host keys and
// authorized client key, or skips the test when sshd is not installed or
// -short is set. It returns a testServer describing it.
func realSSHD(t *testing.T, hostKeys []crypto.Signer, authorized ssh.PublicKey, extra ...string) *testServer {
	t.Helper()
	if testing.Short() {
		t.Skip("real sshd tests skipped with -short")
	}
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/sshd"); serr != nil {
			t.Skipf("no sshd: %v", err)
		}
		sshd = "/usr/sbin/sshd"
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	cfg := fmt.Sprintf("ListenAddress 127.0.0.1:%d\nAuthorizedKeysFile %s\nStrictModes no\nUsePAM no\nPidFile %s\nLogLevel ERROR\n",
		port, filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "pid"))
	for _, e := range extra {
		cfg += e + "\n"
	}
	var signers []ssh.Signer
	for i, k := range hostKeys {
		p := filepath.Join(dir, fmt.Sprintf("host_key_%d", i))
		block, err := ssh.MarshalPrivateKey(k, "")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(block), 0o600))
		cfg += "HostKey " + p + "\n"
		s, err := ssh.NewSignerFromSigner(k)
		require.NoError(t, err)
		signers = append(signers, s)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(authorized), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600))
	if _, err := os.Stat("/run/sshd"); err != nil && os.Geteuid() == 0 {
		t.Skipf("sshd's privilege separation directory is missing: %v", err)
	}

	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Skipf("sshd did not start: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen within 5s: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &testServer{Addr: addr, Port: port, HostKeys: signers}
}

func TestRealSSHD(t *testing.T) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	key := newClientKey(t)
	srv := realSSHD(t, []crypto.Signer{edPriv, ecPriv}, key.pub)
	ed := srv.HostKeys[0]

	env := newClientEnv(t)
	key.write(t, filepath.Join(env.home, ".ssh", "id_ed25519"), false)
	env.host("real", srv)
	d, _ := env.dialer(Options{StrictHostKeyChecking: "accept-new"})
	c, err := dial(t, d, "real")
	require.NoError(t, err)
	s, err := c.NewSession()
	require.NoError(t, err)
	out, err := s.Output("echo hello from sshd")
	require.NoError(t, err)
	assert.Equal(t, "hello from sshd\n", string(out))
	c.Close()

	// Only the Ed25519 key on file (x/crypto would pick ECDSA by default).
	require.NoError(t, os.Remove(env.kh))
	env.trust(srv, ed.PublicKey())
	d, _ = env.dialer(Options{})
	c, err = dial(t, d, "real")
	require.NoError(t, err)
	c.Close()

	// A key sshd does not know.
	other := newClientEnv(t)
	newClientKey(t).write(t, filepath.Join(other.home, ".ssh", "id_ed25519"), false)
	other.host("real", srv)
	other.trust(srv)
	d, _ = other.dialer(Options{})
	_, err = dial(t, d, "real")
	assert.Equal(t, "nodes: real: no accepted key (tried ~/.ssh/id_ed25519)", asError[*AuthError](t, err).Error())
}

// lockedBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRealSSHDMaxStartups(t *testing.T) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	key := newClientKey(t)
	srv := realSSHD(t, []crypto.Signer{edPriv}, key.pub, "MaxStartups 3")
	env := newClientEnv(t)
	key.write(t, filepath.Join(env.home, ".ssh", "id_ed25519"), false)
	env.host("real", srv)
	env.trust(srv)

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
