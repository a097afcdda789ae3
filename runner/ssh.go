package runner

import (
	"context"
	"errors"
	"fmt"
	"github.com/drove-dev/drove/internal/keepalive"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSH runs commands on one node over SSH. It shares connections between the
// node's slots, one session per job, and opens another connection when the
// server refuses a session (OpenSSH's MaxSessions, default 10, and fewer in
// practice while closed sessions are still being torn down): the limit of
// each connection is learned from the refusal, never assumed. While a job
// runs, the session for the next one is opened (spare.go), within
// MaxSessions' default of 10 and less once the server refuses one; spares
// run nothing on the node and close with their connection.
//
// Every connection is watched by keepalives (keepalive@openssh.com, as
// OpenSSH's ServerAliveInterval/ServerAliveCountMax do): a node that stops
// answering for Interval*CountMax has its connection closed, and the jobs
// on it fail with a *NodeError.
type SSH struct {
	name string
	dial func(ctx context.Context) (*ssh.Client, error)
	opts SSHOptions
	// watcherLen is the length of the watcher's part of a job's command
	// (watcherHeadLen), for the check made before a session is taken.
	watcherLen int

	mu      sync.Mutex
	conns   []*sshConn
	dialing chan struct{} // closed when the dial in progress ends
	closed  bool
	// For tests: jobs that took a pre-opened session, and pre-opens the
	// server refused.
	spareHits, spareRefusals int
}

// SSHOptions tune an SSH host.
type SSHOptions struct {
	KeepaliveInterval time.Duration // 0 = no keepalives
	KeepaliveCountMax int           // unanswered keepalives before the node is dead; 0 = 3
	Grace             time.Duration // between asking a killed job to stop and forcing it; 0 = 5s
	// ReadyTimeout bounds the wait for a session's ready mark (see
	// LoginShellError); 0 = DefaultReadyTimeout. Give the node's
	// ConnectTimeout.
	ReadyTimeout time.Duration
}

var _ Host = (*SSH)(nil)

type sshConn struct {
	client *ssh.Client

	guardMu    sync.Mutex
	guard      *guard // once up; until then (or if refused) jobs carry their own watcher
	guardTried bool
	guardDone  bool          // the guard's start ended, up or refused
	guardUp    chan struct{} // closed when the guard's start ends
	jobs       int           // jobs started on this connection
	open       int           // sessions open or opening (guarded by SSH.mu)
	limit      int           // job sessions the server allowed at once; 0 = not yet refused, -1 = none
	used       bool          // a session was opened here once (guarded by SSH.mu)
	// refusedAt is when the server first refused a session here with none
	// open, in the current run of such refusals (guarded by SSH.mu).
	refusedAt time.Time

	// Pre-opened sessions (spare.go), guarded by SSH.mu.
	spares   []*ssh.Session // open, idle, for the next jobs
	opening  int            // pre-opens under way
	landed   chan struct{}  // closed (and replaced) when a pre-open ends
	spareCap int            // no pre-open takes the sessions held past this
	taken    int            // sessions handed to jobs here

	dead chan struct{}
	once sync.Once
	err  error // why it died, set before dead is closed
}

func (c *sshConn) kill(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.dead)
		_ = c.client.Close()
	})
}

func (c *sshConn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// NewSSH dials the node's first connection and returns a Host for it. dial
// must bound its own handshake; name is used in errors.
func NewSSH(ctx context.Context, name string, dial func(ctx context.Context) (*ssh.Client, error), opts SSHOptions) (*SSH, error) {
	if opts.KeepaliveCountMax <= 0 {
		opts.KeepaliveCountMax = 3
	}
	if opts.Grace <= 0 {
		opts.Grace = 5 * time.Second
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	h := &SSH{name: name, dial: dial, opts: opts}
	h.watcherLen = watcherHeadLen(h.graceSeconds())
	c, err := h.connect(ctx)
	if err != nil {
		return nil, err
	}
	h.conns = append(h.conns, c)
	return h, nil
}

// connect dials a new connection.
func (h *SSH) connect(ctx context.Context) (*sshConn, error) {
	client, err := h.dial(ctx)
	if err != nil {
		return nil, err
	}
	return h.watch(client), nil
}

// guardFor returns c's guard once it is up. The second job on a
// connection starts it, in the background: a connection that runs one job
// (--on-each-node) never pays for a guard session. The first job, and
// every job if the server refuses the guard or once it has died, carries
// its own watcher.
//
// While the guard is starting, guardFor returns nil and a channel closed
// when its start ends: a job that waits for it (see awaitGuard) forks no
// watcher on the node.
func (h *SSH) guardFor(c *sshConn) (g *guard, starting <-chan struct{}) {
	c.guardMu.Lock()
	defer c.guardMu.Unlock()
	c.jobs++
	if c.guard == nil && !c.guardTried && c.jobs >= 2 {
		c.guardTried = true
		up := make(chan struct{})
		c.guardUp = up
		go func() {
			g, err := startGuard(c.client, h.graceSeconds())
			c.guardMu.Lock()
			defer c.guardMu.Unlock()
			c.guardDone = true
			if err == nil {
				c.guard = g
			}
			close(up)
		}()
	}
	if c.guardTried && !c.guardDone {
		return nil, c.guardUp
	}
	if c.guard != nil && !c.guard.alive() {
		return nil, nil
	}
	return c.guard, nil
}

// awaitGuard waits for c's guard to finish starting, for at most wait and
// not past c's death or done, and returns it if it is up and alive.
func (h *SSH) awaitGuard(c *sshConn, starting <-chan struct{}, done <-chan struct{}, wait time.Duration) *guard {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-starting:
	case <-c.dead:
	case <-done:
	case <-t.C:
	}
	c.guardMu.Lock()
	defer c.guardMu.Unlock()
	if c.guard != nil && c.guard.alive() {
		return c.guard
	}
	return nil
}

// guardSession reports whether c's guard may hold a session: it is
// starting, or up and alive.
func (c *sshConn) guardSession() bool {
	c.guardMu.Lock()
	defer c.guardMu.Unlock()
	if !c.guardTried {
		return false
	}
	return !c.guardDone || (c.guard != nil && c.guard.alive())
}

func (h *SSH) graceSeconds() int { return int((h.opts.Grace + time.Second - 1) / time.Second) }

// watch starts the goroutines that notice a connection's end.
func (h *SSH) watch(client *ssh.Client) *sshConn {
	c := &sshConn{client: client, dead: make(chan struct{}), landed: make(chan struct{}), spareCap: defaultMaxSessions}
	go func() {
		err := client.Wait()
		if err == nil {
			err = io.EOF
		}
		c.kill(fmt.Errorf("connection lost: %w", err))
	}()
	if h.opts.KeepaliveInterval > 0 {
		go keepalive.Watch(client, c.dead, h.opts.KeepaliveInterval, h.opts.KeepaliveCountMax, func(err error) {
			c.kill(fmt.Errorf("node stopped answering: %w", err))
		})
	}
	return c
}

// Run runs cmd in a new session, wrapped so that it dies with the session
// (see RemoteCommand).
func (h *SSH) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	// A job no node could start fails before it reaches the node: OpenSSH
	// drops the whole connection over a NUL in an exec request. Only the
	// job's own part of its command is built here: the rest depends on the
	// connection's guard, and a guarded job needs no watcher.
	jc := jobCommand(cmd)
	if err := checkJobLen(cmd, h.watcherLen+len(jc)); err != nil {
		return err
	}
	c, sess, spare, err := h.session(ctx)
	if err != nil {
		return err
	}
	defer h.release(c)
	defer func() { _ = sess.Close() }()

	token := readyToken()
	ready := newReadyFilter(stderr, token)
	g, starting := h.guardFor(c)
	if starting != nil {
		// The connection's guard is starting: this job waits for it
		// rather than fork a watcher of its own on the node.
		g = h.awaitGuard(c, starting, ctx.Done(), h.opts.ReadyTimeout)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	var tok int64
	var command string
	if g != nil {
		tok, command = g.wrap(readyPrefix(token), jc)
		defer g.ended()
	} else {
		command = readyPrefix(token) + watcherHead(h.graceSeconds(), newMark()) + jc
	}
	if err := CheckJob(cmd, command); err != nil {
		return err
	}
	stdin, err := startSession(sess, command, stdout, ready)
	if err != nil && spare && !c.isDead() {
		// The server closed the spare while it waited (sshd's
		// ChannelTimeout): the job gets a fresh session here.
		_ = sess.Close()
		if sess, err = c.client.NewSession(); err != nil {
			return &NodeError{Node: h.name, Err: fmt.Errorf("new session: %w", err)}
		}
		stdin, err = startSession(sess, command, stdout, ready)
	}
	if err != nil {
		return h.classify(c, err)
	}
	h.preopen(c) // the next job's session opens while this one runs
	// A session with no ready mark in time runs no wrapper, and never
	// will: the node is failed, and every session on the connection ends.
	wait := h.opts.ReadyTimeout
	readyTimer := time.AfterFunc(wait, func() {
		if ready.miss() {
			c.kill(&LoginShellError{Waited: wait})
		}
	})
	defer readyTimer.Stop()
	// On cancellation: have the guard send TERM, then KILL, to the job's
	// process group and marked processes, asking it to drain until the
	// session ends, since the job may not have registered yet; and write
	// "k" to stdin and close it, which the per-job watcher turns into the
	// same. If the node does not end the session within the grace period,
	// drop the session.
	var killed atomic.Bool
	var grace atomic.Pointer[time.Timer]
	ended := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		killed.Store(true)
		if g != nil {
			g.kill(tok)
			go redrain(g, ended)
		}
		// A job's own watcher reads "k": kill the job. No signal is sent
		// to the session (the watcher or guard sends TERM): a job's shell
		// killed first could end the session before the watcher had read
		// "k", and it would then take the job for one that ended by
		// itself and leave the processes it started in sessions of their
		// own. Before the ready mark, whatever reads stdin may not be
		// drove's watcher: it gets no "k", only the end of its input,
		// which a watcher takes as "k" while the job runs.
		if ready.seen() {
			_, _ = io.WriteString(stdin, "k\n")
		}
		_ = stdin.Close()
		grace.Store(time.AfterFunc(h.opts.Grace+2*time.Second, func() { _ = sess.Close() }))
	})
	err = sess.Wait()
	close(ended)
	if !stop() {
		if t := grace.Load(); t != nil {
			t.Stop()
		}
	}
	if killed.Load() {
		return ctx.Err()
	}
	var ee *ssh.ExitError
	if !ready.seen() && (ready.missed() || errors.As(err, &ee)) {
		// The login shell ran no wrapper (it wrote no mark), and hung or
		// failed: what it did is no job's outcome. A session that exits
		// 0 without the mark is taken as it is: a server that runs no
		// shell (a test server, a ForceCommand ignoring the command) did
		// what it does. A connection lost before the mark is the
		// connection's failure (classify).
		var waited time.Duration
		if ready.missed() {
			waited = wait
		}
		return &NodeError{Node: h.name, Err: ready.refusal(waited)}
	}
	_ = ready.finish() // a write error is the Output's to report, not the job's
	return h.classify(c, err)
}

// startSession starts command in sess with its stdout and stderr going
// to the writers given, and returns its stdin.
func startSession(sess *ssh.Session, command string, stdout, stderr io.Writer) (io.WriteCloser, error) {
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	sess.Stdout, sess.Stderr = stdout, stderr
	return stdin, sess.Start(command)
}

// redrain asks g to drain every so often until ended is closed: a killed
// job that had not registered yet is killed when its registration is read.
func redrain(g *guard, ended <-chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			g.drain()
		case <-ended:
			return
		}
	}
}

// classify turns a session's result into nil, *ExitError or *NodeError.
func (h *SSH) classify(c *sshConn, err error) error {
	if err == nil {
		return nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		if sig := ee.Signal(); sig != "" {
			// x/crypto/ssh knows no number for USR1 and USR2 and reports
			// 128 for them: use Linux's (the node's numbering, whatever
			// this machine's is), as Local does on Linux.
			const linuxUSR1, linuxUSR2 = 10, 12
			st := ee.ExitStatus()
			switch sig {
			case "USR1":
				st = 128 + linuxUSR1
			case "USR2":
				st = 128 + linuxUSR2
			}
			return &ExitError{Status: st, Signal: sig}
		}
		return &ExitError{Status: ee.ExitStatus()}
	}
	// No exit status: the connection died, or the session was torn down
	// under us. Ask the connection before blaming anyone.
	if c.isDead() || !keepalive.Ping(c.client, 5*time.Second, c.dead) {
		c.kill(fmt.Errorf("no answer after a session ended without status: %w", err))
		return &NodeError{Node: h.name, Err: c.err}
	}
	return &ExitError{Status: -1, Signal: ""}
}

// refusalPatience is how long a connection with no session open (and no
// guard) may keep refusing sessions before drove gives up on it: long
// enough for sessions drove has just closed to be torn down on the server,
// which can still count them for a moment.
const refusalPatience = time.Second

// session opens a session on a connection with room, dialling another
// connection when every one is full or dead. A refusal while other sessions
// are open on the connection is its limit (MaxSessions): another connection
// is used. A refusal with none open is retried for refusalPatience, in case
// sessions just closed still count on the server; then a connection that
// has had sessions is dropped for a fresh one, and on a connection that
// never had one the node is failed with a *NodeError: it refuses every
// session (sshd_config MaxSessions 0).
func (h *SSH) session(ctx context.Context) (c *sshConn, sess *ssh.Session, spare bool, err error) {
	pause := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, false, err
		}
		var wait <-chan struct{}
		c, wait, err = h.pick(ctx)
		if err != nil {
			return nil, nil, false, err
		}
		if c == nil {
			// Another slot is dialling; wait for it and look again.
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, nil, false, ctx.Err()
			}
			continue
		}
		var landed <-chan struct{}
		sess, landed = h.takeSpare(c)
		for sess == nil && landed != nil && awaitSpare(c, landed, ctx.Done(), h.opts.ReadyTimeout) {
			sess, landed = h.takeSpare(c)
		}
		if sess != nil {
			return c, sess, true, nil
		}
		if err := ctx.Err(); err != nil {
			h.release(c)
			return nil, nil, false, err
		}
		sess, err = c.client.NewSession()
		if err == nil {
			h.mu.Lock()
			c.used = true
			c.refusedAt = time.Time{}
			c.taken++
			h.mu.Unlock()
			return c, sess, false, nil
		}
		var oce *ssh.OpenChannelError
		if !errors.As(err, &oce) {
			h.release(c)
			// The connection failed under us (or a keepalive found the node
			// hung): the node is in trouble, and dialling it again would
			// only wait out a connect timeout.
			c.kill(fmt.Errorf("new session: %w", err))
			return nil, nil, false, &NodeError{Node: h.name, Err: c.err}
		}
		guarded := c.guardSession()
		guard, _ := c.guardRoom()
		h.mu.Lock()
		c.open--
		c.refusedLocked(guard)
		if len(c.spares) > 0 || c.opening > 0 {
			// Spares hold the places: this job takes one (the next
			// pick waits for a pre-open under way). No limit is learned.
			h.mu.Unlock()
			if attempt > 64 {
				return nil, nil, false, &NodeError{Node: h.name, Err: fmt.Errorf("sessions refused: %w", err)}
			}
			continue
		}
		others := c.open
		if guarded {
			others++
		}
		if others > 0 {
			// The server said no with others open there: its limit, in
			// job sessions (-1: none besides the guard).
			c.limit = c.open
			if c.limit == 0 {
				c.limit = -1
			}
			h.mu.Unlock()
			if attempt > 64 {
				return nil, nil, false, &NodeError{Node: h.name, Err: fmt.Errorf("sessions refused: %w", err)}
			}
			continue
		}
		now := time.Now()
		if c.refusedAt.IsZero() {
			c.refusedAt = now
		}
		patient := now.Sub(c.refusedAt) < refusalPatience
		used := c.used
		h.mu.Unlock()
		switch {
		case patient:
			select {
			case <-time.After(pause):
			case <-ctx.Done():
			}
			pause = min(2*pause, 200*time.Millisecond)
		case used:
			// Refused for a second with nothing open: whatever the server
			// still counts here, a fresh connection has nothing to count.
			// Dropped only if no other slot took it meanwhile.
			if h.retire(c) {
				c.kill(fmt.Errorf("every session refused for %s with none open", refusalPatience))
			}
			pause = 20 * time.Millisecond
		default:
			return nil, nil, false, &NodeError{Node: h.name, Err: &SessionsRefusedError{Err: err}}
		}
	}
}

// SessionsRefusedError is a node whose server refused every session on a
// connection that had none open, for as long as drove waited: it allows
// no session at all (sshd_config MaxSessions 0), and no job can run there.
type SessionsRefusedError struct{ Err error }

func (e *SessionsRefusedError) Error() string {
	return fmt.Sprintf("the server refuses every session, even with none open on a fresh connection (sshd_config MaxSessions 0?): %v", e.Err)
}

func (e *SessionsRefusedError) Unwrap() error { return e.Err }

// pick reserves a session on a live connection with room. When there is
// none it starts a dial (returning its result) or, if one is already under
// way, returns a channel that is closed when it ends.
func (h *SSH) pick(ctx context.Context) (*sshConn, <-chan struct{}, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, nil, &NodeError{Node: h.name, Err: errors.New("host closed")}
	}
	live := h.conns[:0]
	for _, c := range h.conns {
		if !c.isDead() || c.open > 0 {
			live = append(live, c)
		}
	}
	h.conns = live
	// A connection with a spare or a pre-open under way first.
	var room *sshConn
	for _, c := range h.conns {
		if !c.isDead() && (c.limit == 0 || c.open < c.limit) {
			if len(c.spares) > 0 || c.opening > 0 {
				room = c
				break
			}
			if room == nil {
				room = c
			}
		}
	}
	if room != nil {
		room.open++
		h.mu.Unlock()
		return room, nil, nil
	}
	if h.dialing != nil {
		wait := h.dialing
		h.mu.Unlock()
		return nil, wait, nil
	}
	done := make(chan struct{})
	h.dialing = done
	h.mu.Unlock()

	c, err := h.connect(ctx)

	h.mu.Lock()
	defer h.mu.Unlock()
	h.dialing = nil
	close(done)
	if err != nil {
		var ne *NodeError
		if !errors.As(err, &ne) {
			err = &NodeError{Node: h.name, Err: err}
		}
		return nil, nil, err
	}
	if h.closed {
		c.kill(errors.New("host closed"))
		return nil, nil, &NodeError{Node: h.name, Err: errors.New("host closed")}
	}
	h.conns = append(h.conns, c)
	c.open++
	return c, nil, nil
}

// retire takes c out of the connections slots pick from, if no session
// is open or opening there, and reports whether it did.
func (h *SSH) retire(c *sshConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.open > 0 {
		return false
	}
	kept := h.conns[:0]
	for _, o := range h.conns {
		if o != c {
			kept = append(kept, o)
		}
	}
	clear(h.conns[len(kept):])
	h.conns = kept
	return true
}

func (h *SSH) release(c *sshConn) {
	h.mu.Lock()
	c.open--
	h.mu.Unlock()
}

// Conns reports how many live connections the host holds (for tests and
// status).
func (h *SSH) Conns() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.conns {
		if !c.isDead() {
			n++
		}
	}
	return n
}

// Close closes every connection; jobs still running on them are killed by
// their wrapper when sshd notices.
func (h *SSH) Close() error {
	h.mu.Lock()
	h.closed = true
	conns := h.conns
	h.mu.Unlock()
	for _, c := range conns {
		c.kill(errors.New("host closed"))
	}
	return nil
}
