// Package sshtest runs in-process SSH servers (gliderlabs/ssh) on
// 127.0.0.1:0 for drove's tests: each session runs its command for real
// with "sh -c" in a process group of its own, as sshd does, with stdin,
// stdout, stderr, TERM and the exit status or signal wired back. Hooks
// limit sessions per connection, kill the node or freeze it. Servers close
// when the test ends. Only tests import it.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Options configure a Server.
type Options struct {
	MaxSessions int  // refuse sessions beyond this per connection; 0 = no limit
	Instant     bool // exit 0 at once without running anything (benchmarks)
}

// Server is one in-process SSH node.
type Server struct {
	Addr   string
	Signer ssh.Signer // its host key

	srv     *gliderssh.Server
	maxSess int

	mu       sync.Mutex
	conns    []*freezableConn
	refused  int
	Commands atomic.Int64 // sessions that ran a command
}

// New starts a Server on 127.0.0.1:0 that accepts any public key; it is
// closed when t ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	ts := &Server{Signer: signer, maxSess: opts.MaxSessions}
	handler := ts.handle
	if opts.Instant {
		handler = func(s gliderssh.Session) { _ = s.Exit(0) }
	}
	perConn := map[*ssh.ServerConn]int{}
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
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	ts.Addr = l.Addr().String()
	go func() { _ = ts.srv.Serve(l) }()
	t.Cleanup(func() { _ = ts.srv.Close() })
	return ts
}

// handle runs the session's command with sh, wiring stdin, stdout, stderr,
// TERM and the exit status or signal back like sshd.
func (ts *Server) handle(s gliderssh.Session) {
	ts.Commands.Add(1)
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
			}{Signal: strings.TrimPrefix(sigName(ws.Signal()), "SIG")}
			_, _ = s.SendRequest("exit-signal", false, ssh.Marshal(&msg))
			_ = s.Close()
			return
		}
		_ = s.Exit(ee.ExitCode())
		return
	}
	_ = s.Exit(0)
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGUSR1:
		return "USR1"
	case syscall.SIGUSR2:
		return "USR2"
	case syscall.SIGSEGV:
		return "SEGV"
	case syscall.SIGPIPE:
		return "PIPE"
	}
	return fmt.Sprintf("SIG%d", int(s))
}

// Kill closes every connection and the listener: the node is gone.
func (ts *Server) Kill() {
	_ = ts.srv.Close()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, c := range ts.conns {
		_ = c.Close()
	}
}

// Freeze makes the node stop answering without closing anything.
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

// Fleet is a set of servers with the client side set up as a user would
// have it: a client key, a known_hosts file holding every server's host key,
// and an ssh_config naming them node1..nodeN.
type Fleet struct {
	Servers    []*Server
	SSHConfig  string
	KnownHosts string
	ClientKey  string
	Names      []string
}

// NewFleet starts n servers and writes the client files in t.TempDir().
func NewFleet(t testing.TB, n int, opts Options) *Fleet {
	t.Helper()
	dir := t.TempDir()
	f := &Fleet{KnownHosts: filepath.Join(dir, "known_hosts"), ClientKey: filepath.Join(dir, "id_ed25519"), SSHConfig: filepath.Join(dir, "ssh_config")}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := os.WriteFile(f.ClientKey, pemEncode(blk.Type, blk.Bytes), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	var kh, cfg strings.Builder
	for i := range n {
		s := New(t, opts)
		f.Servers = append(f.Servers, s)
		name := fmt.Sprintf("node%d", i+1)
		f.Names = append(f.Names, name)
		host, port, _ := net.SplitHostPort(s.Addr)
		kh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.Signer.PublicKey()) + "\n")
		fmt.Fprintf(&cfg, "Host %s\n  HostName %s\n  Port %s\n  User tester\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n",
			name, host, port, f.ClientKey, f.KnownHosts)
	}
	if err := os.WriteFile(f.KnownHosts, []byte(kh.String()), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := os.WriteFile(f.SSHConfig, []byte(cfg.String()), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return f
}

func pemEncode(typ string, b []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})
}
