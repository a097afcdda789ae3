//go:build unix

package sshtest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/drove-dev/drove/internal/sshtest"
)

// dial logs in to s as user with key, checking the host key against keys
// (all of s's host keys when none are given).
func dial(t *testing.T, s *sshtest.Server, user string, auth ssh.AuthMethod, keys ...ssh.PublicKey) (*ssh.Client, error) {
	t.Helper()
	if len(keys) == 0 {
		for _, k := range s.HostKeys {
			keys = append(keys, k.PublicKey())
		}
	}
	cfg := &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{auth},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			for _, k := range keys {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return nil
				}
			}
			return errors.New("unexpected host key")
		},
		Timeout: 5 * time.Second,
	}
	c, err := ssh.Dial("tcp", s.Addr, cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func login(t *testing.T, s *sshtest.Server) *ssh.Client {
	t.Helper()
	c, err := dial(t, s, "tester", ssh.PublicKeys(sshtest.NewSigner(t)))
	require.NoError(t, err)
	return c
}

// TestDefaultHandlerMatchesShell: output, exit status and stdin of a session
// are those of "sh -c" run here, the oracle.
func TestDefaultHandlerMatchesShell(t *testing.T) {
	s := sshtest.New(t, sshtest.Options{})
	c := login(t, s)
	for _, cmd := range []string{
		"echo out; echo err >&2; exit 3",
		"printf 'a\\0b\\377'",
		"cat; echo done",
		"exit 0",
		"kill -TERM $$",
	} {
		sess, err := c.NewSession()
		require.NoError(t, err)
		var so, se bytes.Buffer
		sess.Stdout, sess.Stderr, sess.Stdin = &so, &se, bytes.NewBufferString("in\n")
		err = sess.Run(cmd)

		oracle := exec.Command("sh", "-c", cmd)
		var wo, we bytes.Buffer
		oracle.Stdout, oracle.Stderr, oracle.Stdin = &wo, &we, bytes.NewBufferString("in\n")
		oerr := oracle.Run()

		assert.Equal(t, wo.String(), so.String(), cmd)
		assert.Equal(t, we.String(), se.String(), cmd)
		var ee *ssh.ExitError
		var oe *exec.ExitError
		if errors.As(oerr, &oe) {
			require.ErrorAs(t, err, &ee, cmd)
			if ws := oe.Sys().(syscall.WaitStatus); ws.Signaled() {
				assert.Equal(t, "TERM", ee.Signal(), cmd)
			} else {
				assert.Equal(t, oe.ExitCode(), ee.ExitStatus(), cmd)
			}
		} else {
			assert.NoError(t, err, cmd)
		}
	}
	assert.Equal(t, int64(5), s.Commands.Load())
}

// TestEchoAndAuthorizedKeys: Echo reports user and command; AuthorizedKeys
// admits only the keys listed, an empty list none, nil any.
func TestEchoAndAuthorizedKeys(t *testing.T) {
	good, bad := sshtest.NewSigner(t), sshtest.NewSigner(t)
	s := sshtest.New(t, sshtest.Options{Handler: sshtest.Echo, AuthorizedKeys: []ssh.PublicKey{good.PublicKey()}})
	c, err := dial(t, s, "alice", ssh.PublicKeys(good))
	require.NoError(t, err)
	sess, err := c.NewSession()
	require.NoError(t, err)
	out, err := sess.Output("echo 'x y'")
	require.NoError(t, err)
	assert.Equal(t, "alice:echo 'x y'", string(out))

	_, err = dial(t, s, "alice", ssh.PublicKeys(bad))
	assert.ErrorContains(t, err, "unable to authenticate")

	none := sshtest.New(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{}})
	_, err = dial(t, none, "alice", ssh.PublicKeys(good))
	assert.ErrorContains(t, err, "unable to authenticate")

	anyKey := sshtest.New(t, sshtest.Options{})
	_, err = dial(t, anyKey, "alice", ssh.PublicKeys(bad))
	assert.NoError(t, err)

	pw := sshtest.New(t, sshtest.Options{PasswordOnly: true})
	_, err = dial(t, pw, "alice", ssh.PublicKeys(good))
	assert.ErrorContains(t, err, "attempted methods [none]", "no public-key method offered")
	_, err = dial(t, pw, "alice", ssh.Password("secret"))
	assert.ErrorContains(t, err, "attempted methods [none password]", "passwords are refused")
}

// TestHostKeysAreOffered: every host key is offered, so a client that
// knows only one of them, and asks for its algorithm, logs in.
func TestHostKeysAreOffered(t *testing.T) {
	ed := sshtest.NewSigner(t)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ec, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	s := sshtest.New(t, sshtest.Options{HostKeys: []ssh.Signer{ed, ec}})
	assert.Equal(t, ed, s.Signer)
	assert.Equal(t, []ssh.Signer{ed, ec}, s.HostKeys)
	for _, k := range []ssh.Signer{ed, ec} {
		cfg := &ssh.ClientConfig{
			User: "u", Auth: []ssh.AuthMethod{ssh.PublicKeys(sshtest.NewSigner(t))},
			HostKeyCallback:   ssh.FixedHostKey(k.PublicKey()),
			HostKeyAlgorithms: []string{k.PublicKey().Type()},
		}
		c, err := ssh.Dial("tcp", s.Addr, cfg)
		require.NoError(t, err, k.PublicKey().Type())
		c.Close()
	}
}

// TestForwardingAndOpenConns: with Forwarding a client reaches another
// server through this one (ProxyJump) and the destination is reported;
// without it the channel is rejected. OpenConns follows the connections.
func TestForwardingAndOpenConns(t *testing.T) {
	target := sshtest.New(t, sshtest.Options{Handler: sshtest.Echo})
	jump := sshtest.New(t, sshtest.Options{Forwarding: true})
	jc := login(t, jump)
	conn, err := jc.Dial("tcp", target.Addr)
	require.NoError(t, err)
	assert.Equal(t, target.Addr, <-jump.Forwards())
	cc, chans, reqs, err := ssh.NewClientConn(conn, target.Addr, &ssh.ClientConfig{
		User: "deploy", Auth: []ssh.AuthMethod{ssh.PublicKeys(sshtest.NewSigner(t))},
		HostKeyCallback: ssh.FixedHostKey(target.Signer.PublicKey()),
	})
	require.NoError(t, err)
	tc := ssh.NewClient(cc, chans, reqs)
	sess, err := tc.NewSession()
	require.NoError(t, err)
	out, err := sess.Output("hostname")
	require.NoError(t, err)
	assert.Equal(t, "deploy:hostname", string(out))
	assert.Equal(t, 1, jump.OpenConns())
	assert.Equal(t, 1, target.OpenConns())
	tc.Close()
	jc.Close()
	require.Eventually(t, func() bool { return jump.OpenConns() == 0 && target.OpenConns() == 0 }, 5*time.Second, 5*time.Millisecond)

	closed := sshtest.New(t, sshtest.Options{})
	_, err = login(t, closed).Dial("tcp", target.Addr)
	assert.ErrorContains(t, err, "unknown channel type")
}

// TestMaxSessionsRefusesExtra: sessions beyond MaxSessions open at once on
// one connection are refused and counted; a closed one frees its place.
func TestMaxSessionsRefusesExtra(t *testing.T) {
	s := sshtest.New(t, sshtest.Options{MaxSessions: 2, Handler: sshtest.Echo})
	c := login(t, s)
	var open []*ssh.Session
	for range 2 {
		sess, err := c.NewSession()
		require.NoError(t, err)
		open = append(open, sess)
	}
	_, err := c.NewSession()
	assert.ErrorContains(t, err, "no more sessions")
	assert.Equal(t, 1, s.Refused())
	require.NoError(t, open[0].Run("x"))
	// The handler's count drops when the channel handler returns, just
	// after the client sees the exit status.
	require.Eventually(t, func() bool {
		sess, err := c.NewSession()
		if err == nil {
			sess.Close()
		}
		return err == nil
	}, 5*time.Second, 5*time.Millisecond)
}

// TestKillAndFreeze: Kill ends sessions and refuses new connections;
// Freeze leaves connections open but unanswered.
func TestKillAndFreeze(t *testing.T) {
	s := sshtest.New(t, sshtest.Options{})
	c := login(t, s)
	sess, err := c.NewSession()
	require.NoError(t, err)
	started := make(chan error, 1)
	go func() { started <- sess.Run("sleep 30") }()
	require.Eventually(t, func() bool { return s.Commands.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	s.Kill()
	select {
	case err := <-started:
		assert.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("a killed server's session did not end")
	}
	_, err = net.DialTimeout("tcp", s.Addr, 5*time.Second)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)

	f := sshtest.New(t, sshtest.Options{})
	fc := login(t, f)
	f.Freeze()
	replied := make(chan struct{})
	var once sync.Once
	go func() {
		_, _, _ = fc.SendRequest("keepalive@openssh.com", true, nil)
		once.Do(func() { close(replied) })
	}()
	select {
	case <-replied:
		t.Fatal("a frozen server answered")
	case <-time.After(300 * time.Millisecond): // bounded wait for an event that must not happen
	}
	fc.Close()
	<-replied
}

// TestRefusingHoldsItsPort: connections to Refusing's address are refused
// and the port stays taken (a bind without SO_REUSEADDR fails) until the
// test ends, unlike a listener closed to get a "free" port.
func TestRefusingHoldsItsPort(t *testing.T) {
	addr := sshtest.Refusing(t)
	for range 3 {
		_, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
		require.ErrorIs(t, err, syscall.ECONNREFUSED)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer syscall.Close(fd)
	err = syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: addr.Port})
	require.ErrorIs(t, err, syscall.EADDRINUSE)
}
