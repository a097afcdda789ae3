package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// testServer is an in-process SSH server on 127.0.0.1:0 whose sessions run
// real "sh -c" commands on this machine (each in its own process group, as
// sshd does), with hooks to limit sessions, kill or freeze the node.
type testServer struct {
	t       testing.TB
	Addr    string
	srv     *gliderssh.Server
	signer  ssh.Signer
	maxSess int

	mu       sync.Mutex
	conns    []*freezableConn
	sessions int
	refused  int
	commands atomic.Int64
}

type serverOpts struct {
	MaxSessions int  // refuse sessions beyond this per connection; 0 = no limit
	Instant     bool // exit 0 at once without running anything (benchmarks)
}

func newTestServer(t testing.TB, opts serverOpts) *testServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	ts := &testServer{t: t, signer: signer, maxSess: opts.MaxSessions}
	handler := ts.handle
	if opts.Instant {
		handler = func(s gliderssh.Session) { _ = s.Exit(0) }
	}
	perConn := map[*gossh_ServerConn]int{}
	ts.srv = &gliderssh.Server{
		Handler:          handler,
		PublicKeyHandler: func(gliderssh.Context, gliderssh.PublicKey) bool { return true },
		ConnCallback: func(_ gliderssh.Context, c net.Conn) net.Conn {
			fc := &freezableConn{Conn: c}
			ts.mu.Lock()
			ts.conns = append(ts.conns, fc)
			ts.mu.Unlock()
			return fc
		},
		ChannelHandlers: map[string]gliderssh.ChannelHandler{
			"session": func(srv *gliderssh.Server, conn *ssh.ServerConn, ch ssh.NewChannel, ctx gliderssh.Context) {
				ts.mu.Lock()
				if ts.maxSess > 0 && perConn[conn] >= ts.maxSess {
					ts.refused++
					ts.mu.Unlock()
					_ = ch.Reject(ssh.Prohibited, "no more sessions")
					return
				}
				perConn[conn]++
				ts.mu.Unlock()
				defer func() {
					ts.mu.Lock()
					perConn[conn]--
					ts.mu.Unlock()
				}()
				gliderssh.DefaultSessionHandler(srv, conn, ch, ctx)
			},
		},
	}
	ts.srv.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ts.Addr = l.Addr().String()
	go func() { _ = ts.srv.Serve(l) }()
	t.Cleanup(func() { _ = ts.srv.Close() })
	return ts
}

type gossh_ServerConn = ssh.ServerConn

// handle runs the session's command with sh, wiring stdin, stdout, stderr,
// signals and the exit status or signal back like sshd.
func (ts *testServer) handle(s gliderssh.Session) {
	ts.commands.Add(1)
	pr, pw, err := os.Pipe()
	if err != nil {
		_ = s.Exit(255)
		return
	}
	go func() {
		_, _ = io.Copy(pw, s)
		_ = pw.Close()
	}()
	c := exec.Command("sh", "-c", s.RawCommand())
	c.Stdin, c.Stdout, c.Stderr = pr, s, s.Stderr()
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		_ = pr.Close()
		_ = s.Exit(127)
		return
	}
	_ = pr.Close()
	sigs := make(chan gliderssh.Signal, 4)
	s.Signals(sigs)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == gliderssh.SIGTERM {
					_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
				}
			case <-done:
				return
			}
		}
	}()
	err = c.Wait()
	close(done)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			msg := struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}{Signal: signalName(ws.Signal())}
			_, _ = s.SendRequest("exit-signal", false, ssh.Marshal(&msg))
			_ = s.Close()
			return
		}
		_ = s.Exit(ee.ExitCode())
		return
	}
	_ = s.Exit(0)
}

// Kill closes every connection and the listener: the node is gone.
func (ts *testServer) Kill() {
	_ = ts.srv.Close()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, c := range ts.conns {
		_ = c.Close()
	}
}

// Freeze makes the node stop answering without closing anything.
func (ts *testServer) Freeze() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, c := range ts.conns {
		c.frozen.Store(true)
	}
}

func (ts *testServer) Refused() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.refused
}

// dial returns a dial function for runner.NewSSH.
func (ts *testServer) dial() func(ctx context.Context) (*ssh.Client, error) {
	return func(ctx context.Context) (*ssh.Client, error) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		signer, _ := ssh.NewSignerFromKey(priv)
		cfg := &ssh.ClientConfig{
			User:            "test",
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: ssh.FixedHostKey(ts.signer.PublicKey()),
			Timeout:         5 * time.Second,
		}
		return ssh.Dial("tcp", ts.Addr, cfg)
	}
}

// host connects an SSH host to ts, closed at the end of the test.
func (ts *testServer) host(t testing.TB, opts SSHOptions) *SSH {
	t.Helper()
	h, err := NewSSH(context.Background(), ts.Addr, ts.dial(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// freezableConn drops everything the server writes once frozen, so the
// client sees a node that stopped answering.
type freezableConn struct {
	net.Conn
	frozen atomic.Bool
}

func (c *freezableConn) Write(p []byte) (int, error) {
	if c.frozen.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}
