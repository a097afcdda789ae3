// Package sshtest runs in-process SSH servers (gliderlabs/ssh) on
// 127.0.0.1:0 for drove's tests. By default each session runs its command
// for real with "sh -c" in a process group of its own, as sshd does, with
// stdin, stdout, stderr, TERM and the exit status or signal wired back;
// Options choose another handler (Echo), host keys, which client keys or
// methods authenticate, a session limit, ProxyJump forwarding and an SFTP
// subsystem (pkg/sftp's server, or any handler). Hooks kill
// the node or freeze it. Servers close when the test ends. NewFleet adds
// the client files (key, known_hosts, ssh_config) for n servers, and
// Refusing gives an address that refuses connections. Only tests import
// it; internal/sshdtest runs real sshd instead.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
)

// Options configure a Server. The zero value runs every command with sh,
// accepts any public key and has one fresh ed25519 host key.
type Options struct {
	MaxSessions int // refuse sessions beyond this many open on one connection; 0 = no limit
	// IdleSessionTimeout, when positive, closes a session that has asked
	// for nothing (no exec, shell or other request) for that long, as
	// sshd's ChannelTimeout does with an idle channel.
	IdleSessionTimeout time.Duration
	Instant            bool // exit 0 at once without running anything (benchmarks)
	// Handler, when non-nil, serves every session instead of running its
	// command (Echo is one). Instant overrides it.
	Handler gliderssh.Handler
	// HostKeys are the server's host keys, one per key type (x/crypto keeps
	// the last key of each type); none means one fresh ed25519 key.
	HostKeys []ssh.Signer
	// AuthorizedKeys, when non-nil, are the only client keys accepted (an
	// empty non-nil slice accepts none); nil accepts any public key.
	AuthorizedKeys []ssh.PublicKey
	// PasswordOnly offers only password authentication, and refuses every
	// password: no client can log in.
	PasswordOnly bool
	// Forwarding accepts direct-tcpip channels, so that the server works as
	// a ProxyJump host; every destination asked for is reported on
	// Forwards. Without it such channels are rejected.
	Forwarding bool
	// SFTP serves the "sftp" subsystem with pkg/sftp's server, as sshd's
	// internal-sftp does, on the real file system. Relative paths are the
	// test process's working directory; Server.Dir is a fresh t.TempDir()
	// for the node's files.
	SFTP bool
	// SFTPHandler, when non-nil, serves the "sftp" subsystem instead (a
	// hostile node, say); it overrides SFTP.
	SFTPHandler gliderssh.SubsystemHandler
}

// Server is one in-process SSH node.
type Server struct {
	Addr     string // "127.0.0.1:PORT"
	Port     int
	Signer   ssh.Signer   // its first host key
	HostKeys []ssh.Signer // all its host keys
	Commands atomic.Int64 // sessions that ran a command (default handler)
	Dir      string       // with Options.SFTP: a directory of its own for the node's files

	srv      *gliderssh.Server
	maxSess  int
	idle     time.Duration
	forwards chan string

	mu       sync.Mutex
	conns    []*trackedConn
	open     int // server-side connections not yet closed
	refused  int
	sessions int // session channels accepted and not yet ended
	opened   int // session channels accepted in all
}

// Echo is a session handler that writes "USER:COMMAND" and exits 0, for
// tests that check who logged in and what arrived, not what ran.
func Echo(s gliderssh.Session) {
	_, _ = io.WriteString(s, s.User()+":"+s.RawCommand())
}

// New starts a Server on 127.0.0.1:0; it is closed when t ends, after its
// accept loop has returned.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	keys := opts.HostKeys
	if len(keys) == 0 {
		keys = []ssh.Signer{NewSigner(t)}
	}
	ts := &Server{Signer: keys[0], HostKeys: keys, maxSess: opts.MaxSessions, idle: opts.IdleSessionTimeout, forwards: make(chan string, 16)}
	handler := ts.handle
	if opts.Handler != nil {
		handler = opts.Handler
	}
	if opts.Instant {
		handler = func(s gliderssh.Session) { _ = s.Exit(0) }
	}
	ts.srv = &gliderssh.Server{
		Handler:          handler,
		PublicKeyHandler: authorized(opts.AuthorizedKeys),
		ConnCallback:     ts.track,
		ChannelHandlers:  map[string]gliderssh.ChannelHandler{"session": ts.limitSessions()},
	}
	switch {
	case opts.SFTPHandler != nil:
		ts.srv.SubsystemHandlers = map[string]gliderssh.SubsystemHandler{"sftp": opts.SFTPHandler}
	case opts.SFTP:
		ts.Dir = t.TempDir()
		ts.srv.SubsystemHandlers = map[string]gliderssh.SubsystemHandler{"sftp": SFTPServer()}
	}
	if opts.PasswordOnly {
		ts.srv.PublicKeyHandler = nil
		ts.srv.PasswordHandler = func(gliderssh.Context, string) bool { return false }
	}
	if opts.Forwarding {
		ts.srv.LocalPortForwardingCallback = func(_ gliderssh.Context, host string, port uint32) bool {
			select {
			case ts.forwards <- net.JoinHostPort(host, fmt.Sprint(port)):
			default:
			}
			return true
		}
		ts.srv.ChannelHandlers["direct-tcpip"] = gliderssh.DirectTCPIPHandler
	}
	for _, k := range keys {
		ts.srv.AddHostKey(k)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	ts.Addr = l.Addr().String()
	ts.Port = l.Addr().(*net.TCPAddr).Port
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = ts.srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = ts.srv.Close()
		<-served
	})
	return ts
}

// NewSigner returns a fresh ed25519 signer (fast, unlike gliderlabs' RSA
// default), for host or client keys.
func NewSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return s
}

// authorized is the public key handler for keys: nil accepts any key.
func authorized(keys []ssh.PublicKey) gliderssh.PublicKeyHandler {
	if keys == nil {
		return func(gliderssh.Context, gliderssh.PublicKey) bool { return true }
	}
	return func(_ gliderssh.Context, key gliderssh.PublicKey) bool {
		for _, k := range keys {
			if string(k.Marshal()) == string(key.Marshal()) {
				return true
			}
		}
		return false
	}
}

// limitSessions is the "session" channel handler: gliderlabs' own, behind
// the MaxSessions count per connection.
func (ts *Server) limitSessions() gliderssh.ChannelHandler {
	perConn := map[*ssh.ServerConn]int{}
	return func(srv *gliderssh.Server, conn *ssh.ServerConn, ch ssh.NewChannel, ctx gliderssh.Context) {
		ts.mu.Lock()
		if ts.maxSess > 0 && perConn[conn] >= ts.maxSess {
			ts.refused++
			ts.mu.Unlock()
			_ = ch.Reject(ssh.Prohibited, "no more sessions")
			return
		}
		perConn[conn]++
		ts.sessions++
		ts.opened++
		ts.mu.Unlock()
		defer func() {
			ts.mu.Lock()
			if perConn[conn]--; perConn[conn] == 0 {
				delete(perConn, conn)
			}
			ts.sessions--
			ts.mu.Unlock()
		}()
		if ts.idle > 0 {
			ch = idleChannel{NewChannel: ch, idle: ts.idle}
		}
		gliderssh.DefaultSessionHandler(srv, conn, ch, ctx)
	}
}

// idleChannel is a session channel closed by the server when its first
// request does not come within idle.
type idleChannel struct {
	ssh.NewChannel
	idle time.Duration
}

func (c idleChannel) Accept() (ssh.Channel, <-chan *ssh.Request, error) {
	ch, reqs, err := c.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *ssh.Request)
	go func() {
		defer close(out)
		t := time.NewTimer(c.idle)
		defer t.Stop()
		select {
		case r, ok := <-reqs:
			if !ok {
				return
			}
			out <- r
		case <-t.C:
			_ = ch.Close()
		}
		for r := range reqs {
			out <- r
		}
	}()
	return ch, out, nil
}

// track wraps every accepted connection so that the server can count,
// freeze and close it.
func (ts *Server) track(_ gliderssh.Context, c net.Conn) net.Conn {
	tc := &trackedConn{Conn: c, onClose: func() {
		ts.mu.Lock()
		ts.open--
		ts.mu.Unlock()
	}}
	ts.mu.Lock()
	ts.conns = append(ts.conns, tc)
	ts.open++
	ts.mu.Unlock()
	return tc
}

// Kill closes every connection and the listener: the node is gone, and
// new connections are refused.
func (ts *Server) Kill() {
	_ = ts.srv.Close()
	ts.mu.Lock()
	conns := append([]*trackedConn(nil), ts.conns...)
	ts.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Freeze makes the node stop answering on every connection it has accepted
// so far, without closing anything.
func (ts *Server) Freeze() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, c := range ts.conns {
		c.frozen.Store(true)
	}
}

// Refused reports how many sessions were refused for MaxSessions.
func (ts *Server) Refused() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.refused
}

// OpenSessions reports how many session channels the server has accepted
// and not yet ended, over all connections: sessions that ran a command and
// sessions opened and left idle alike.
func (ts *Server) OpenSessions() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.sessions
}

// Sessions reports how many session channels the server has accepted in
// all.
func (ts *Server) Sessions() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.opened
}

// OpenConns reports how many server-side connections are not yet closed.
func (ts *Server) OpenConns() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.open
}

// Forwards delivers the "host:port" destination of each direct-tcpip
// channel the server accepted (Options.Forwarding). It holds the first 16
// not yet received; later ones are dropped.
func (ts *Server) Forwards() <-chan string { return ts.forwards }

// trackedConn is a server-side connection that drops everything the server
// writes once frozen, so the client sees a node that stopped answering,
// and calls onClose once when closed.
type trackedConn struct {
	net.Conn
	frozen  atomic.Bool
	once    sync.Once
	onClose func()
}

func (c *trackedConn) Write(p []byte) (int, error) {
	if c.frozen.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.onClose)
	return err
}
