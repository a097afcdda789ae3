package runner

import (
	"errors"
	"time"

	"golang.org/x/crypto/ssh"
)

// Pre-opened sessions: while a job runs, its connection opens the session
// the next job will take, so that a slot does not wait a round trip for a
// session to open between one job and the next.
//
// A connection keeps at most one spare per job session open on it, and
// starts keeping them from its second job on, once its guard's start has
// ended (a connection that runs one job, as --on-each-node does, opens
// none; and the guard never loses the server's last place to a spare). Every session it holds counts
// against the server's limit (OpenSSH's MaxSessions, 10 by default): job
// sessions, spares, pre-opens under way and a place for the guard. A
// pre-open is made only while that total stays under spareCap, which
// starts at defaultMaxSessions and is lowered to the total held whenever
// the server refuses a session there, so a server with a lower limit costs
// one refusal, never a job's session: jobs then open their sessions when
// they start, as without spares. A spare has run no command, so the node
// holds no process for it; spares go with their connection (Close, a
// retired or dead connection).

// defaultMaxSessions is OpenSSH's default MaxSessions: the most sessions
// one connection may hold at once unless the server says less.
const defaultMaxSessions = 10

// takeSpare hands c's oldest spare to a job whose session is reserved on c
// (by pick). With none ready but a pre-open under way it returns a channel
// closed when that pre-open ends: it lands sooner than a new open would.
func (h *SSH) takeSpare(c *sshConn) (*ssh.Session, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(c.spares); n > 0 {
		s := c.spares[0]
		copy(c.spares, c.spares[1:])
		c.spares[n-1] = nil
		c.spares = c.spares[:n-1]
		c.used = true
		c.refusedAt = time.Time{}
		c.taken++
		h.spareHits++
		return s, nil
	}
	if c.opening > 0 {
		return nil, c.landed
	}
	return nil, nil
}

// awaitSpare waits for a pre-open under way on c to end, and reports
// whether it did: it gives up after wait (the connection's keepalives
// bound the pre-open itself), when c dies or when done is closed.
func awaitSpare(c *sshConn, landed <-chan struct{}, done <-chan struct{}, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-landed:
		return true
	case <-c.dead:
	case <-done:
	case <-t.C:
	}
	return false
}

// guardRoom is the place c keeps for its guard session: 1 unless the
// guard was refused or has died. starting reports a guard whose start has
// not ended: no pre-open competes with it for the server's last place.
func (c *sshConn) guardRoom() (room int, starting bool) {
	c.guardMu.Lock()
	defer c.guardMu.Unlock()
	if c.guardDone && (c.guard == nil || !c.guard.alive()) {
		return 0, false
	}
	return 1, c.guardTried && !c.guardDone
}

// heldLocked is how many sessions c holds or is opening, with the guard's
// place (h.mu held).
func (c *sshConn) heldLocked(guard int) int {
	return c.open + len(c.spares) + c.opening + guard
}

// refusedLocked lowers c's spare limit after the server refused a session
// there: no pre-open will take the total past what it held then (h.mu
// held; the refused session is not counted).
func (c *sshConn) refusedLocked(guard int) {
	c.spareCap = min(c.spareCap, c.heldLocked(guard))
}

// preopen opens a spare session on c in the background if c keeps fewer
// spares than it runs jobs and the server has room for one more (see the
// top of this file). It is called once a job has started on c.
func (h *SSH) preopen(c *sshConn) {
	guard, starting := c.guardRoom()
	h.mu.Lock()
	if h.closed || c.isDead() || starting || c.taken < 2 || len(c.spares)+c.opening >= c.open ||
		c.heldLocked(guard) >= c.spareCap {
		h.mu.Unlock()
		return
	}
	c.opening++
	h.mu.Unlock()
	go func() {
		sess, err := c.client.NewSession()
		guard, _ := c.guardRoom()
		h.mu.Lock()
		c.opening--
		close(c.landed)
		c.landed = make(chan struct{})
		var oce *ssh.OpenChannelError
		switch {
		case err == nil && !h.closed && !c.isDead():
			c.spares = append(c.spares, sess)
			sess = nil
		case errors.As(err, &oce):
			c.refusedLocked(guard)
			h.spareRefusals++
		}
		h.mu.Unlock()
		if sess != nil {
			_ = sess.Close()
		}
	}()
}
