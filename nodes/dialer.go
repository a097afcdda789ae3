package nodes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/knownhosts"
	"github.com/drove-dev/drove/sshconfig"
	"golang.org/x/crypto/ssh"
)

// Dialer resolves nodes through ssh_config and opens authenticated,
// host-key-verified SSH connections to them. It is safe for concurrent use.
// It holds one lazily opened ssh-agent connection, a cache of parsed identity
// files and known_hosts databases, and the host keys accepted in this run.
type Dialer struct {
	opts           Options
	home           string
	localUser      string
	localHost      string
	strict         string // normalised Options.StrictHostKeyChecking, "" = from ssh_config
	connectTimeout time.Duration
	attempts       int
	cfg            *sshconfig.Config
	cfgEnv         sshconfig.Env // what ssh_config evaluation sees of this machine

	notes notes // Options.Logf and ProxyStderr, serialised

	agentMu sync.Mutex
	agents  map[string]*agentFor // by socket; nil = unreachable

	keysMu sync.Mutex
	keys   map[string]*identity

	certMu sync.Mutex
	certs  map[string]*ssh.Certificate // user certificate files, nil = none

	hosts *knownhosts.Store // known_hosts databases, and the host keys recorded in this run

	hsMu       sync.Mutex
	handshakes map[string]chan struct{} // per address: handshakes under way

	handshaking chan struct{} // handshakes in progress, all addresses (handshakes.go)
	slotWaiters atomic.Int32  // dials whose server spoke, waiting for a handshaking slot
}

// HandshakesPerAddr is how many SSH handshakes a Dialer has under way to one
// address at once. OpenSSH's MaxStartups (default 10:30:100) starts dropping
// unauthenticated connections beyond 10, so drove stays under it: a fleet
// behind one jump host, or many slots of one node, log in a few at a time
// instead of losing logins.
const HandshakesPerAddr = 8

// handshakeSlot waits for a free handshake slot for addr; the returned func
// gives it back.
func (d *Dialer) handshakeSlot(ctx context.Context, addr string) (func(), error) {
	d.hsMu.Lock()
	if d.handshakes == nil {
		d.handshakes = map[string]chan struct{}{}
	}
	sem, ok := d.handshakes[addr]
	if !ok {
		sem = make(chan struct{}, HandshakesPerAddr)
		d.handshakes[addr] = sem
	}
	d.hsMu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// NewDialer validates opts and loads ssh_config once. A config file that fails
// to parse is noted through Options.Logf (file:line:col and reason) and
// ignored; a ConfigFile that is named explicitly but cannot be read is an
// error, as with ssh -F.
func NewDialer(opts Options) (*Dialer, error) {
	d := &Dialer{
		opts:      opts,
		home:      opts.Home,
		localUser: currentUser(),
		keys:      map[string]*identity{},
		certs:     map[string]*ssh.Certificate{},
		agents:    map[string]*agentFor{},
		notes:     notes{logf: opts.Logf, stderr: opts.ProxyStderr},
		hosts:     knownhosts.NewStore(),
	}
	maxHS := opts.MaxHandshakes
	if maxHS <= 0 {
		maxHS = DefaultMaxHandshakes
	}
	d.handshaking = make(chan struct{}, maxHS)
	if d.home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("nodes: %w", err)
		}
		d.home = h
	}
	if h, err := os.Hostname(); err == nil {
		d.localHost = h
	}
	if opts.StrictHostKeyChecking != "" {
		s, ok := normStrict(opts.StrictHostKeyChecking)
		if !ok {
			return nil, fmt.Errorf("nodes: bad StrictHostKeyChecking %q (want yes, accept-new or no)", opts.StrictHostKeyChecking)
		}
		d.strict = s
	}
	d.connectTimeout = opts.ConnectTimeout
	if d.connectTimeout <= 0 {
		d.connectTimeout = DefaultConnectTimeout
	}
	for _, hop := range strings.Split(opts.Jump, ",") {
		if hop = strings.TrimSpace(hop); opts.Jump != "" {
			if _, err := hostlist.ParseSpec(strings.TrimPrefix(hop, "ssh://")); err != nil {
				return nil, fmt.Errorf("nodes: bad jump host: %w", err)
			}
		}
	}
	d.attempts = opts.DialAttempts
	if d.attempts <= 0 {
		d.attempts = DefaultDialAttempts
	}
	cfg, err := sshconfig.Load(opts.ConfigFile, d.home)
	if err != nil {
		return nil, err
	}
	d.cfg = cfg
	d.cfgEnv = sshconfig.Env{
		Home: d.home, LocalUser: d.localUser, LocalHost: d.localHost, UID: os.Getuid(),
		Exec: sshconfig.ShellExec, NoteOnce: d.noteOnce, Logf: d.logf,
	}
	return d, nil
}

// Close closes the ssh-agent connections opened. Clients returned by Dial
// stay open.
func (d *Dialer) Close() error {
	d.agentMu.Lock()
	defer d.agentMu.Unlock()
	var err error
	for sock, a := range d.agents {
		if a != nil {
			err = errors.Join(err, a.conn.Close())
		}
		delete(d.agents, sock)
	}
	return err
}

// proxyStderr is where ProxyCommand stderr lines go: Options.ProxyStderr,
// one line per write, serialised with the Dialer's notes.
func (d *Dialer) proxyStderr() io.Writer { return d.notes.proxyStderr() }

// logf sends one note to Options.Logf, one call at a time.
func (d *Dialer) logf(format string, args ...any) { d.notes.printf(format, args...) }

// noteOnce logs a note the first time key is seen by this Dialer.
func (d *Dialer) noteOnce(key, format string, args ...any) { d.notes.once(key, format, args...) }

// hostLogf sends a note about t when t's LogLevel shows messages of level
// (INFO or VERBOSE; DEBUG1-3 show VERBOSE too).
func (d *Dialer) hostLogf(t *Target, level, format string, args ...any) {
	if sshconfig.LogLevelRank(t.LogLevel) < sshconfig.LogLevelRank(level) {
		return
	}
	d.logf(format, args...)
}

// display shows a path for messages, with the home directory as "~".
func (d *Dialer) display(p string) string { return sshconfig.AbbrevHome(p, d.home) }

// Dial connects to t, through its ProxyJump chain if any, and returns an
// authenticated client. Each connection (hop) is bounded by its
// ConnectTimeout, covering TCP connect, key exchange and authentication, and is
// abandoned as soon as ctx is done. Retryable failures (see Retryable) are
// retried up to Options.DialAttempts times per hop with jittered backoff.
// Closing the returned client also closes the jump clients, last hop first.
//
// Errors are *DialError (connect, timeout, dropped, cancelled: errors.Is(err,
// context.Canceled) holds), *HostKeyError or *AuthError, naming the node or,
// for a hop, "HOP (jump host for NODE)".
func (d *Dialer) Dial(ctx context.Context, t *Target) (*ssh.Client, error) {
	if t == nil || t.Spec.Local() {
		return nil, errors.New("nodes: the local node is not reached over SSH")
	}
	hops := append(append([]*Target(nil), t.Jump...), t)
	chain := make([]*ssh.Client, 0, len(hops))
	closeChain := func() {
		for i := len(chain) - 1; i >= 0; i-- {
			chain[i].Close()
		}
	}
	var via *ssh.Client
	for i, h := range hops {
		name := h.String()
		if i < len(hops)-1 {
			name = fmt.Sprintf("%s (jump host for %s)", h, t)
		}
		c, err := d.dialRetry(ctx, via, h, name)
		if err != nil {
			closeChain()
			return nil, err
		}
		chain = append(chain, c)
		via = c
	}
	final := chain[len(chain)-1]
	d.forwardAgent(t, final)
	if len(chain) > 1 {
		jumps := chain[:len(chain)-1]
		go func() {
			_ = final.Wait()
			for i := len(jumps) - 1; i >= 0; i-- {
				jumps[i].Close()
			}
		}()
	}
	return final, nil
}

// maxBackoff caps the pause between dial attempts.
const maxBackoff = 2 * time.Second

// dialRetry dials one hop, retrying Retryable failures with backoff
// (100ms, 200ms, 400ms, ... up to 2s, each jittered by ±50%). At most
// HandshakesPerAddr attempts to one address are under way at once.
func (d *Dialer) dialRetry(ctx context.Context, via *ssh.Client, t *Target, name string) (*ssh.Client, error) {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		release, err := d.handshakeSlot(ctx, t.Addr())
		if err != nil {
			return nil, &DialError{Node: name, Addr: t.Addr(), Err: err}
		}
		c, err := d.dialOnce(ctx, via, t, name)
		release()
		if err == nil || attempt >= d.attempts || !Retryable(err) {
			return c, err
		}
		wait := backoff/2 + rand.N(backoff) // jitter: 0.5x .. 1.5x
		backoff = min(2*backoff, maxBackoff)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, &DialError{Node: name, Addr: t.Addr(), Err: ctx.Err()}
		case <-timer.C:
		}
	}
}

// dialOnce makes one connection attempt to t, directly or through via.
func (d *Dialer) dialOnce(ctx context.Context, via *ssh.Client, t *Target, name string) (*ssh.Client, error) {
	timeout := t.ConnectTimeout
	if timeout <= 0 {
		timeout = d.connectTimeout
	}
	addr := t.Addr()
	dialErr := func(err error, timedOut bool) error {
		if ctx.Err() != nil {
			return &DialError{Node: name, Addr: addr, Err: ctx.Err()}
		}
		var ne net.Error
		if timedOut || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
			(errors.As(err, &ne) && ne.Timeout()) {
			return &DialError{Node: name, Addr: addr, Err: err, Timeout: true, After: timeout}
		}
		return &DialError{Node: name, Addr: addr, Err: err}
	}

	db, err := d.knownHosts(t)
	if err != nil {
		return nil, &ConfigError{Node: name, Err: err}
	}
	deadline := time.Now().Add(timeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	clock := &dialClock{ctx: ctx, timeout: timeout}

	var conn net.Conn
	var proxy *proxyConn
	switch {
	case via == nil && t.ProxyCommand != "":
		proxy, err = startProxyCommand(t.ProxyCommand, name, d.proxyStderr())
		if err != nil {
			return nil, &DialError{Node: name, Addr: addr, Err: err, Proxy: t.ProxyCommand}
		}
		conn = proxy
	case via == nil:
		var nd net.Dialer
		conn, err = nd.DialContext(dctx, "tcp", addr)
	default:
		conn, err = via.DialContext(dctx, "tcp", addr)
	}
	if err != nil {
		return nil, dialErr(err, false)
	}
	// The deadline bounds the handshake on a TCP conn; the clock's
	// AfterFunc covers conns without deadlines (jump channels) and ctx
	// cancellation. Once the server speaks, the handshake waits for a slot
	// (handshakes.go) and then has a full timeout of its own.
	clock.start(conn, deadline)
	gated := &gatedConn{Conn: conn, gate: func() error { return clock.gate(d.handshakeTurn) }}

	var st dialState
	cfg := &ssh.ClientConfig{
		User: t.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			as := authState{asked: true}
			s := d.signers(t, &as)
			st.setAuth(as)
			return s, nil
		})},
		HostKeyCallback:   d.hostKeyCallback(t, db, name, &st),
		HostKeyAlgorithms: hostKeyAlgorithms(db, t),
		Timeout:           timeout,
	}
	c, chans, reqs, err := ssh.NewClientConn(gated, addr, cfg)
	fired, clockErr := clock.end()
	if err == nil && fired {
		c.Close()
		err = clockErr
	}
	if err != nil {
		conn.Close()
		if hk := st.hostKeyErr(); hk != nil {
			return nil, hk
		}
		if strings.Contains(err.Error(), "ssh: unable to authenticate") {
			as := st.auth()
			return nil, &AuthError{Node: name, Offered: as.offered, Skipped: as.skipped, Err: err, notAsked: !as.asked}
		}
		de := dialErr(err, fired && ctx.Err() == nil).(*DialError)
		if proxy != nil {
			de.Proxy = t.ProxyCommand
			if !de.Timeout && ctx.Err() == nil {
				de.Err = proxy.failure()
			}
		}
		return nil, de
	}
	_ = conn.SetDeadline(time.Time{})
	client := ssh.NewClient(newSessionConn(c, t), chans, reqs)
	if proxy != nil {
		// The command goes when the connection does, however it ends.
		go func() {
			_ = client.Wait()
			proxy.Close()
		}()
	}
	return client, nil
}

// dialState collects what callbacks learnt during one handshake.
type dialState struct {
	mu      sync.Mutex
	refused error
	as      authState
}

func (s *dialState) setHostKeyErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused = err
}

func (s *dialState) hostKeyErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

func (s *dialState) setAuth(as authState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.as = as
}

func (s *dialState) auth() authState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.as
}
