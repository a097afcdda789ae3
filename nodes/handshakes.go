package nodes

import (
	"context"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultMaxHandshakes is how many SSH handshakes a Dialer has in progress
// at once, across all addresses, when Options.MaxHandshakes is 0.
//
// A handshake is in progress from the server's first bytes to the end of
// authentication: that is where a dial costs CPU (key exchange, host key
// check, signatures, agent requests). Before the server speaks a dial is a
// pending TCP connect, a silent server or a slow jump host, and costs a
// socket: a Dialer has any number of those under way, so a node that
// answers is never queued behind nodes that do not.
const DefaultMaxHandshakes = 128

// handshakeTurn waits for one of the Dialer's handshake slots; the
// returned func gives it back.
func (d *Dialer) handshakeTurn(ctx context.Context) (func(), error) {
	release := func() { <-d.handshaking }
	select {
	case d.handshaking <- struct{}{}:
		return release, nil
	default:
	}
	d.slotWaiters.Add(1)
	defer d.slotWaiters.Add(-1)
	select {
	case d.handshaking <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// gatedConn is a connection whose first read that returns bytes (the
// server's first bytes: its version line) passes only once gate has
// returned nil; gate's error is then the read's.
type gatedConn struct {
	net.Conn
	gate func() error
	once sync.Once
	err  error
}

func (c *gatedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.once.Do(func() { c.err = c.gate() })
		if c.err != nil {
			return 0, c.err
		}
	}
	return n, err
}

// dialClock bounds one dial attempt by its ConnectTimeout twice over: once
// for the TCP connect (or proxy) and the wait for the server's first bytes,
// and once more from the moment the handshake gets its slot, so that the
// wait for a slot is not counted against the node. When its time is up, or
// ctx ends, it closes the connection.
type dialClock struct {
	ctx     context.Context
	timeout time.Duration

	mu      sync.Mutex
	conn    net.Conn
	stop    func() bool        // stops the running AfterFunc
	cancel  context.CancelFunc // of the running period's context
	period  context.Context
	fired   bool   // a period ran out (or ctx ended) and closed conn
	release func() // gives back the handshake slot, once taken
}

// start times conn from deadline, the end of the first period.
func (k *dialClock) start(conn net.Conn, deadline time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.conn = conn
	k.arm(deadline)
}

func (k *dialClock) arm(deadline time.Time) {
	if k.cancel != nil {
		k.cancel()
	}
	k.period, k.cancel = context.WithDeadline(k.ctx, deadline)
	_ = k.conn.SetDeadline(deadline)
	conn := k.conn
	k.stop = context.AfterFunc(k.period, func() { conn.Close() })
}

// gate is a gatedConn's gate: it stops the clock, waits for a handshake
// slot and restarts the clock for a full period.
func (k *dialClock) gate(turn func(context.Context) (func(), error)) error {
	k.mu.Lock()
	if !k.stop() {
		k.fired = true
		k.mu.Unlock()
		return os.ErrDeadlineExceeded
	}
	k.stop = func() bool { return true } // paused: nothing to stop
	k.mu.Unlock()
	release, err := turn(k.ctx)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.release = release
	k.arm(time.Now().Add(k.timeout))
	return nil
}

// end stops the clock and gives back the handshake slot. It reports
// whether the connection was closed because time ran out or ctx ended,
// and that period's error.
func (k *dialClock) end() (fired bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.release != nil {
		k.release()
		k.release = nil
	}
	if !k.fired && !k.stop() {
		k.fired = true
	}
	err = k.period.Err()
	if err == nil && k.fired {
		err = context.DeadlineExceeded
	}
	k.cancel()
	return k.fired, err
}
