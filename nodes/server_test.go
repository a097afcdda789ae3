package nodes

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// startServer starts an in-process server (internal/sshtest) whose
// sessions write "USER:COMMAND" and exit 0.
func startServer(t *testing.T, o sshtest.Options) *sshtest.Server {
	t.Helper()
	o.Handler = sshtest.Echo
	return sshtest.New(t, o)
}

func newEd25519Signer(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

func newECDSASigner(t *testing.T) ssh.Signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

// clientKey is a client key pair that tests can write as an identity file or
// load into an agent.
type clientKey struct {
	priv ed25519.PrivateKey
	pub  ssh.PublicKey
}

func newClientKey(t *testing.T) clientKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	sp, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return clientKey{priv: priv, pub: sp}
}

// write stores the unencrypted private key at path and, if withPub, the
// public key at path.pub.
func (k clientKey) write(t *testing.T, path string, withPub bool) {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(k.priv, "test")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	if withPub {
		k.writePub(t, path)
	}
}

// writePub stores only the public key, at path.pub.
func (k clientKey) writePub(t *testing.T, path string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(k.pub), 0o644))
}

// encryptedKey copies testdata/nodes/encrypted_ed25519 (passphrase "secret",
// made with ssh-keygen -a 1 so decrypting it is fast) to path, without its
// .pub, and returns the key.
func encryptedKey(t *testing.T, path string) clientKey {
	t.Helper()
	data, err := os.ReadFile(fixture(t, "encrypted_ed25519"))
	require.NoError(t, err)
	raw, err := ssh.ParseRawPrivateKeyWithPassphrase(data, []byte("secret"))
	require.NoError(t, err)
	priv := *raw.(*ed25519.PrivateKey)
	pub, err := ssh.NewPublicKey(priv.Public())
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return clientKey{priv: priv, pub: pub}
}

// startAgent serves an in-process agent holding keys on a unix socket and
// returns the socket path.
func startAgent(t *testing.T, keys ...clientKey) string {
	t.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		require.NoError(t, kr.Add(agent.AddedKey{PrivateKey: k.priv}))
	}
	dir, err := os.MkdirTemp("", "agent") // t.TempDir paths can exceed the unix socket limit
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _ = agent.ServeAgent(kr, c) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return sock
}

// clientEnv is a fake home directory with an ssh_config naming test servers.
type clientEnv struct {
	t     *testing.T
	home  string
	kh    string // the user known_hosts file
	hosts strings.Builder
}

func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	home := t.TempDir()
	return &clientEnv{t: t, home: home, kh: filepath.Join(home, ".ssh", "known_hosts")}
}

// host adds "Host alias" pointing at srv, with extra ssh_config lines.
func (e *clientEnv) host(alias string, srv *sshtest.Server, extra ...string) {
	e.hostAt(alias, srv.Addr, extra...)
}

// hostAt adds "Host alias" pointing at addr ("host:port"), with extra
// ssh_config lines.
func (e *clientEnv) hostAt(alias, addr string, extra ...string) {
	e.t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(e.t, err)
	fmt.Fprintf(&e.hosts, "Host %s\n    HostName %s\n    Port %s\n", alias, host, port)
	for _, l := range extra {
		fmt.Fprintf(&e.hosts, "    %s\n", l)
	}
}

// trust adds srv's host keys (or the given keys) to the known_hosts file.
func (e *clientEnv) trust(srv *sshtest.Server, keys ...ssh.PublicKey) {
	e.t.Helper()
	if len(keys) == 0 {
		for _, s := range srv.HostKeys {
			keys = append(keys, s.PublicKey())
		}
	}
	e.trustAt(srv.Addr, keys...)
}

// trustAt adds keys for addr ("host:port") to the known_hosts file.
func (e *clientEnv) trustAt(addr string, keys ...ssh.PublicKey) {
	e.t.Helper()
	require.NoError(e.t, os.MkdirAll(filepath.Dir(e.kh), 0o700))
	f, err := os.OpenFile(e.kh, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(e.t, err)
	defer f.Close()
	for _, k := range keys {
		_, err := fmt.Fprintln(f, knownhosts.Line([]string{addr}, k))
		require.NoError(e.t, err)
	}
}

// dialer writes the ssh_config and builds a Dialer on it. opts.AgentSocket
// defaults to no agent.
func (e *clientEnv) dialer(opts Options) (*Dialer, *logRecorder) {
	e.t.Helper()
	cfg := filepath.Join(e.home, "ssh_config")
	body := e.hosts.String() + "Host *\n    GlobalKnownHostsFile none\n"
	require.NoError(e.t, os.WriteFile(cfg, []byte(body), 0o600))
	opts.ConfigFile = cfg
	opts.Home = e.home
	return newTestDialer(e.t, opts)
}

// dial resolves alias and dials it with a 5s test deadline.
func dial(t *testing.T, d *Dialer, alias string) (*ssh.Client, error) {
	t.Helper()
	tg := resolve(t, d, alias)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return d.Dial(ctx, tg)
}

// run runs cmd on c and returns its output.
func run(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	s, err := c.NewSession()
	require.NoError(t, err)
	defer s.Close()
	out, err := s.Output(cmd)
	require.NoError(t, err)
	return string(out)
}

// asError is errors.As for tests.
func asError[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	require.Error(t, err)
	require.True(t, errors.As(err, &target), "want %T, got %T: %v", target, err, err)
	return target
}

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o600) }
