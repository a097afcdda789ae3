package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drove-dev/drove/runner"
)

// Client is the controller's side of one gateway: it makes runner.Hosts
// for the nodes behind it. Every wait ends when the gateway goes away (its
// session's output ends), with a *runner.NodeError for each node.
type Client struct {
	name string
	c    *conn
	done chan struct{} // closed when the gateway is gone; err says why
	lost sync.Once
	// waiting is when the reader started waiting for the frame it waits
	// for (UnixNano), 0 while it hands a frame on (the heartbeat's clock).
	waiting atomic.Int64

	mu       sync.Mutex
	closer   io.Closer // the gateway's session, when Start made it
	err      error
	next     uint64
	connects map[uint64]chan string // node ID -> the connect's error text ("" ok)
	jobs     map[uint64]*job
	blocks   blockStore         // the output blocks the gateway sent (Options.Blocks)
	streams  map[uint64]*Stream // open streams (stream_client.go), made at the first
}

// job is a running job's inbox (window.go), which its host.Run empties.
type job struct {
	in *inbox
}

// NewClient says hello on r and w (a gateway's session) and waits for the
// answer; the caller bounds that wait by closing r. name is the gateway's,
// for messages. With opts.Heartbeat set, a gateway that says nothing for
// longer than opts.ControllerWindow() is given up (heartbeat.go).
func NewClient(name string, r io.Reader, w io.Writer, opts Options) (*Client, error) {
	c := newConn(r, w)
	if err := c.send(&frame{Kind: kindHello, Hello: &Hello{Version: Version, Options: opts}}); err != nil {
		return nil, err
	}
	f, err := c.recv()
	if err != nil {
		return nil, fmt.Errorf("gateway: %s did not answer the hello: %w", name, err)
	}
	if f.Kind != kindHello || f.Hello == nil || f.Hello.Version != Version {
		got := ""
		if f.Hello != nil {
			got = f.Hello.Version
		}
		return nil, &VersionError{Got: got}
	}
	cl := &Client{name: name, c: c, done: make(chan struct{}), connects: map[uint64]chan string{}, jobs: map[uint64]*job{}, blocks: blockStore{}}
	// A send that fails loses the gateway there and then: its reader may
	// not have seen the session's end yet, and a caller that finds the
	// gateway still there would blame the node (evict it) for the loss.
	c.broken = cl.lose
	go cl.read()
	if h := heartbeatOf(opts); h.every > 0 {
		go cl.watch(h)
	}
	return cl, nil
}

// Close ends the conversation: the gateway kills what it runs, closes its
// node connections and exits.
func (cl *Client) Close() error {
	cl.mu.Lock()
	c := cl.closer
	cl.mu.Unlock()
	if c != nil {
		return c.Close()
	}
	return nil
}

// setCloser makes c what ends the conversation. Only the first of Close
// and a loss closes it (a session's Close is not safe to call twice at
// once); a later call returns at once, without waiting for the first,
// which may wait on a dead network.
func (cl *Client) setCloser(c io.Closer) {
	var closed atomic.Bool
	cl.mu.Lock()
	cl.closer = closerFunc(func() error {
		if closed.Swap(true) {
			return nil
		}
		return c.Close()
	})
	cl.mu.Unlock()
}

// Abandon gives the gateway up with err, the caller's reason (its SSH
// connection's keepalives went unanswered): every wait on it ends with
// "gateway NAME lost: err" and its session is closed. A gateway already
// gone keeps its first reason.
func (cl *Client) Abandon(err error) { cl.lose(err) }

// lose gives the gateway up, once: every wait on it ends with a
// *LostError of err, and its session (when Start made it) is closed.
func (cl *Client) lose(err error) {
	cl.lost.Do(func() {
		cl.mu.Lock()
		cl.err = &LostError{Gateway: cl.name, Err: err}
		c := cl.closer
		cl.mu.Unlock()
		close(cl.done)
		if c != nil {
			go func() { _ = c.Close() }() // may wait on a dead network
		}
	})
}

// Done is closed when the gateway is gone; Err then says why.
func (cl *Client) Done() <-chan struct{} { return cl.done }

// Err is why the gateway is gone, once Done is closed.
func (cl *Client) Err() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.err
}

func (cl *Client) read() {
	var err error
	for {
		var f *frame
		cl.waiting.Store(time.Now().UnixNano())
		f, err = cl.c.recv()
		cl.waiting.Store(0)
		if err != nil {
			break
		}
		cl.mu.Lock()
		switch f.Kind {
		case kindConnected:
			if ch := cl.connects[f.ID]; ch != nil {
				delete(cl.connects, f.ID)
				ch <- f.Err
			}
		case kindOut, kindBlock, kindBlockRef:
			data := f.Data
			if f.Kind != kindOut {
				if data, err = cl.blocks.data(f); err != nil {
					break // a protocol error: the conversation ends
				}
				f.Stream = 1
			}
			// Queued for the job's own goroutine, in order: a job whose
			// writer waits holds up no other job (window.go).
			if j := cl.jobs[f.ID]; j != nil {
				j.in.push(delivery{data: data, stream: f.Stream})
			}
		case kindDone:
			if j := cl.jobs[f.ID]; j != nil {
				delete(cl.jobs, f.ID)
				j.in.push(delivery{end: f.Result, ended: true})
			}
		case kindStreamData, kindStreamAck, kindStreamClose:
			cl.streamFrameLocked(f)
		}
		cl.mu.Unlock()
		if err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("its session ended")
	}
	cl.lose(err)
}

// send sends f to the gateway. A send that fails has lost the gateway
// (conn.broken), and its error is the loss: "gateway NAME lost: ...".
func (cl *Client) send(f *frame) error {
	if err := cl.c.send(f); err != nil {
		if lost := cl.Err(); lost != nil {
			return lost
		}
		return err
	}
	return nil
}

func (cl *Client) id() uint64 {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.next++
	return cl.next
}

// Connect asks the gateway to connect to spec and returns the node's
// runner.Host. name is the node's name in the controller's messages. The
// wait ends with ctx (the controller's connect timeout) or the gateway.
func (cl *Client) Connect(ctx context.Context, name, spec string) (runner.Host, error) {
	return cl.ConnectVia(ctx, name, spec, nil)
}

// ConnectVia is Connect for a node the gateway reaches through gateways
// of its own: route is the rest of the node's route below this gateway,
// at each level the gateways one of which carries it on (the gateway
// starts them as the controller starts it). The loss of a gateway further
// down is the node's *runner.NodeError, as the loss of this one is; it
// wraps a *runner.RouteError when the gateway reroutes the node itself
// (Result.Route).
func (cl *Client) ConnectVia(ctx context.Context, name, spec string, route [][]string) (runner.Host, error) {
	id := cl.id()
	ch := make(chan string, 1)
	cl.mu.Lock()
	cl.connects[id] = ch
	cl.mu.Unlock()
	if err := cl.send(&frame{Kind: kindConnect, ID: id, Text: spec, Route: route}); err != nil {
		return nil, &runner.NodeError{Node: name, Err: err}
	}
	select {
	case msg := <-ch:
		if msg != "" {
			return nil, fmt.Errorf("via gateway %s: %s", cl.name, msg)
		}
		return &host{cl: cl, id: id, name: name}, nil
	case <-ctx.Done():
		_ = cl.send(&frame{Kind: kindClose, ID: id})
		return nil, ctx.Err()
	case <-cl.done:
		return nil, cl.Err()
	}
}

// host is a node behind a gateway.
type host struct {
	cl   *Client
	id   uint64
	name string
}

var _ runner.Host = (*host)(nil)

// Run runs cmd on the node through the gateway, with the node's errors as
// runner's types: the gateway's loss is the node's (*runner.NodeError).
// ctx's end kills the job on the node, as it does for a direct node.
func (h *host) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	cl := h.cl
	id := cl.id()
	j := &job{in: newInbox()}
	cl.mu.Lock()
	if cl.err != nil {
		cl.mu.Unlock()
		return &runner.NodeError{Node: h.name, Err: cl.err}
	}
	cl.jobs[id] = j
	cl.mu.Unlock()
	if err := cl.send(&frame{Kind: kindRun, ID: id, Node: h.id, Text: cmd}); err != nil {
		return &runner.NodeError{Node: h.name, Err: err}
	}
	cancelled := ctx.Done()
	var werr error // the first error writing the job's output here
	for {
		select {
		case <-j.in.ready:
			for _, d := range j.in.take() {
				if d.ended {
					return h.errorOf(d.end)
				}
				w := stdout
				if d.stream == 2 {
					w = stderr
				}
				if werr == nil {
					_, werr = w.Write(d.data)
				}
				if err := cl.send(&frame{Kind: kindAck, ID: id, Bytes: int64(len(d.data))}); err != nil {
					return &runner.NodeError{Node: h.name, Err: err}
				}
			}
		case <-cancelled:
			cancelled = nil
			if err := cl.send(&frame{Kind: kindCancel, ID: id}); err != nil {
				return &runner.NodeError{Node: h.name, Err: err}
			}
		case <-cl.done:
			return &runner.NodeError{Node: h.name, Err: cl.Err()}
		}
	}
}

func (h *host) errorOf(r *Result) error {
	if r == nil {
		return &runner.NodeError{Node: h.name, Err: errors.New("gateway: a job ended without a result")}
	}
	switch r.Kind {
	case ResultOK:
		return nil
	case ResultExit:
		return &runner.ExitError{Status: r.Status, Signal: r.Signal}
	case ResultUnstartable:
		return &runner.UnstartableError{Reason: r.Text}
	case ResultNode:
		if r.Route {
			return &runner.NodeError{Node: h.name, Err: &runner.RouteError{Err: errors.New(r.Text)}}
		}
		return &runner.NodeError{Node: h.name, Err: errors.New(r.Text)}
	}
	return errors.New(r.Text)
}

// Close closes the node's connection on the gateway.
func (h *host) Close() error {
	select {
	case <-h.cl.done:
		return nil
	default:
	}
	return h.cl.send(&frame{Kind: kindClose, ID: h.id})
}
