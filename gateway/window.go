package gateway

import (
	"errors"
	"sync"
)

// errGone is a job's write on a gateway whose controller is gone.
var errGone = errors.New("gateway: the controller is gone")

// Flow control of each job's output. The Client hands a job's output to
// that job's own goroutine (host.Run) and never waits on a job's writers
// itself, so one job whose output waits (on a terminal, or on another
// job's long line in runner.Output) cannot hold up the others' output or
// their ends. In return the gateway sends at most window bytes of a job's
// output that the controller has not yet written (and acknowledged with an
// Ack frame): past that, the job's writes wait on the gateway, and so its
// node waits, as an SSH channel's window makes a node reached directly
// wait. So the controller holds at most window bytes per running job.

// window is how many bytes of one job's output may be sent and not yet
// written on the controller.
const window = 2 << 20

// kindAck is the controller's: Bytes more bytes of job ID's output are
// written (apart from protocol.go's kinds, like blocks.go's).
const kindAck kind = 80

// credit is one job's window on the gateway.
type credit struct {
	mu      sync.Mutex
	cond    *sync.Cond
	unacked int64
	closed  bool
}

func newCredit() *credit {
	c := &credit{}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// take waits until n more bytes may be sent (always, when none are on
// their way) and counts them; false when the conversation is over.
func (c *credit) take(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closed && c.unacked > 0 && c.unacked+int64(n) > window {
		c.cond.Wait()
	}
	if c.closed {
		return false
	}
	c.unacked += int64(n)
	return true
}

// ack counts n bytes written on the controller.
func (c *credit) ack(n int64) {
	c.mu.Lock()
	c.unacked -= n
	c.cond.Broadcast()
	c.mu.Unlock()
}

// close ends every wait: the conversation is over.
func (c *credit) close() {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
}

// delivery is one thing for a job on the controller: output, or its end.
type delivery struct {
	data   []byte
	stream uint8   // 1 stdout, 2 stderr
	end    *Result // with ended
	ended  bool
}

// inbox is a job's deliveries, queued by the Client's reader and taken
// by the job's goroutine; bounded by window, as the gateway keeps to it.
type inbox struct {
	mu    sync.Mutex
	queue []delivery
	ready chan struct{} // holds a token while queue may be non-empty
}

func newInbox() *inbox { return &inbox{ready: make(chan struct{}, 1)} }

func (b *inbox) push(d delivery) {
	b.mu.Lock()
	b.queue = append(b.queue, d)
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

func (b *inbox) take() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queue
	b.queue = nil
	return q
}
