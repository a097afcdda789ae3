package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/drove-dev/drove/runner"
)

// Connector makes the runner.Host of one node on the gateway, from the
// node spec the controller sent (as "drove run -n" reads it), the rest of
// the node's route (empty: this gateway reaches it itself; otherwise the
// gateway sets below this one, nearest first, as in a Connect frame) and
// the controller's Options.
type Connector func(ctx context.Context, spec string, route [][]string, opts Options) (runner.Host, error)

// Serve is a gateway's side of one conversation: it answers the
// controller's hello, then connects nodes and runs jobs as asked, until r
// ends (the controller closed the session, or died), ctx is done, or the
// controller, which asked for a heartbeat, says nothing for its window
// (heartbeat.go; Serve then returns a *SilentError). Then it kills every
// job still running, waits for them to end, closes every node's
// connection and returns: nil when r ended cleanly. After a silence it
// waits for the jobs at most the grace and a margin (a job whose output
// cannot be sent may never end otherwise), and one goroutine may be left
// reading r until r ends.
func Serve(ctx context.Context, r io.Reader, w io.Writer, connect Connector) error {
	return ServeStreams(ctx, r, w, connect, nil)
}

// ServeStreams is Serve that also relays the streams the controller asks
// for (stream.go), each opened on its node by open; a nil open refuses
// them. When the conversation ends, every stream's node side is closed.
func ServeStreams(ctx context.Context, r io.Reader, w io.Writer, connect Connector, open Opener) error {
	c := newConn(r, w)
	f, err := c.recv()
	if err != nil {
		return fmt.Errorf("gateway: reading the controller's hello: %w", err)
	}
	if f.Kind != kindHello || f.Hello == nil || f.Hello.Version != Version {
		got := ""
		if f.Hello != nil {
			got = f.Hello.Version
		}
		_ = c.send(&frame{Kind: kindHello, Hello: &Hello{Version: Version}})
		return &VersionError{Got: got}
	}
	opts := f.Hello.Options
	if err := c.send(&frame{Kind: kindHello, Hello: &Hello{Version: Version}}); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &server{c: c, opts: opts, connect: connect, open: open, hosts: map[uint64]*served{}, jobs: map[uint64]context.CancelFunc{}, credits: map[uint64]*credit{}}
	if opts.Blocks {
		s.blocks = newBlockSender(c)
	}
	frames := make(chan *frame, 16)
	ended := make(chan error, 1)
	go func() {
		for {
			f, err := c.recv()
			if err != nil {
				ended <- err
				return
			}
			select {
			case frames <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	pongs := make(chan uint64, 1)
	go func() {
		for {
			select {
			case id := <-pongs:
				_ = c.send(&frame{Kind: kindPong, ID: id})
			case <-ctx.Done():
				return
			}
		}
	}()
	var silence <-chan time.Time
	hb := heartbeatOf(opts)
	var timer *time.Timer
	if hb.every > 0 {
		timer = time.NewTimer(hb.gatewayWindow())
		defer timer.Stop()
		silence = timer.C
	}
	for {
		select {
		case f := <-frames:
			if timer != nil {
				timer.Reset(hb.gatewayWindow())
			}
			if err := s.handle(ctx, f, pongs); err != nil {
				s.shutdown(0)
				return err
			}
		case err := <-ended:
			s.shutdown(0)
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-ctx.Done():
			s.shutdown(0)
			return ctx.Err()
		case <-silence:
			c.shut()
			s.shutdown(max(time.Duration(opts.Grace), 5*time.Second) + 5*time.Second)
			return &SilentError{Who: "the controller", For: hb.gatewayWindow()}
		}
	}
}

// handle does what one frame from the controller asks.
func (s *server) handle(ctx context.Context, f *frame, pongs chan<- uint64) error {
	switch f.Kind {
	case kindConnect:
		s.startConnect(ctx, f.ID, f.Text, f.Route)
	case kindRun:
		s.startJob(ctx, f.ID, f.Node, f.Text)
	case kindCancel:
		s.cancelJob(f.ID)
	case kindClose:
		s.closeHost(f.ID)
	case kindAck:
		s.ack(f.ID, f.Bytes)
	case kindStreamOpen, kindStreamData, kindStreamAck, kindStreamClose:
		s.streamFrame(ctx, f)
	case kindPing:
		select {
		case pongs <- f.ID:
		default: // a pong is still waiting to be sent: it answers for this one too
		}
	default:
		return fmt.Errorf("gateway: unexpected frame kind %d from the controller", f.Kind)
	}
	return nil
}

// served is one node's connection on the gateway: host once connected.
type served struct {
	ready chan struct{} // closed when the connect attempt ended
	host  runner.Host   // nil when it failed
}

type server struct {
	c       *conn
	opts    Options
	connect Connector
	open    Opener       // nil: no streams
	blocks  *blockSender // nil unless Options.Blocks
	wg      sync.WaitGroup

	mu      sync.Mutex
	hosts   map[uint64]*served
	jobs    map[uint64]context.CancelFunc
	credits map[uint64]*credit // each running job's window (window.go)
	streams map[uint64]*relay  // open streams (stream_server.go), made at the first
}

func (s *server) startConnect(ctx context.Context, id uint64, spec string, route [][]string) {
	sv := &served{ready: make(chan struct{})}
	s.mu.Lock()
	s.hosts[id] = sv
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		h, err := s.connect(ctx, spec, route, s.opts)
		reply := &frame{Kind: kindConnected, ID: id}
		if err != nil {
			reply.Err = err.Error()
		} else {
			sv.host = h
		}
		close(sv.ready)
		_ = s.c.send(reply)
	}()
}

func (s *server) startJob(ctx context.Context, id, node uint64, cmd string) {
	jctx, cancel := context.WithCancel(ctx)
	cr := newCredit()
	s.mu.Lock()
	sv := s.hosts[node]
	s.jobs[id] = cancel
	s.credits[id] = cr
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.jobs, id)
			delete(s.credits, id)
			s.mu.Unlock()
			cancel()
		}()
		var err error
		if sv == nil {
			err = &runner.NodeError{Err: fmt.Errorf("gateway: no node %d was asked for", node)}
		} else if <-sv.ready; sv.host == nil {
			err = &runner.NodeError{Err: errors.New("gateway: the node is not connected")}
		} else {
			var stdout io.Writer = &outWriter{c: s.c, cr: cr, id: id, stream: 1}
			bw := &blockWriter{s: s.blocks, cr: cr, id: id}
			if s.blocks != nil {
				stdout = bw
			}
			err = sv.host.Run(jctx, cmd, stdout, &outWriter{c: s.c, cr: cr, id: id, stream: 2})
			if s.blocks != nil {
				_ = bw.flush() // an error: the controller is gone
			}
		}
		_ = s.c.send(&frame{Kind: kindDone, ID: id, Result: resultOf(err)})
	}()
}

func (s *server) cancelJob(id uint64) {
	s.mu.Lock()
	cancel := s.jobs[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// ack lets job id send more output.
func (s *server) ack(id uint64, n int64) {
	s.mu.Lock()
	cr := s.credits[id]
	s.mu.Unlock()
	if cr != nil {
		cr.ack(n)
	}
}

func (s *server) closeHost(id uint64) {
	s.mu.Lock()
	sv := s.hosts[id]
	delete(s.hosts, id)
	s.mu.Unlock()
	if sv == nil {
		return
	}
	go func() {
		<-sv.ready
		if sv.host != nil {
			_ = sv.host.Close()
		}
	}()
}

// shutdown kills what runs, waits for it (at most bound, when positive),
// and closes every connection.
func (s *server) shutdown(bound time.Duration) {
	s.mu.Lock()
	for _, cancel := range s.jobs {
		cancel()
	}
	for _, cr := range s.credits {
		cr.close() // no more acks: a write waiting for one fails
	}
	s.mu.Unlock()
	s.stopStreams()
	ended := make(chan struct{})
	go func() { s.wg.Wait(); close(ended) }()
	var timeout <-chan time.Time
	if bound > 0 {
		t := time.NewTimer(bound)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ended:
	case <-timeout:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sv := range s.hosts {
		if sv.host != nil {
			_ = sv.host.Close()
		}
		delete(s.hosts, id)
	}
}

// outWriter sends what a job writes as Out frames, within the job's
// window. A write fails only when the controller is gone, which ends the
// job as it would on a closed pipe.
type outWriter struct {
	c      *conn
	cr     *credit
	id     uint64
	stream uint8
}

func (o *outWriter) Write(p []byte) (int, error) {
	if !o.cr.take(len(p)) {
		return 0, errGone
	}
	if err := o.c.send(&frame{Kind: kindOut, ID: o.id, Stream: o.stream, Data: p}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// resultOf sorts a job's error for the wire.
func resultOf(err error) *Result {
	var (
		ee *runner.ExitError
		ne *runner.NodeError
		ue *runner.UnstartableError
		re *runner.RouteError
	)
	switch {
	case err == nil:
		return &Result{Kind: ResultOK}
	case errors.As(err, &ee):
		return &Result{Kind: ResultExit, Status: ee.Status, Signal: ee.Signal, Text: err.Error()}
	case errors.As(err, &ue):
		return &Result{Kind: ResultUnstartable, Text: ue.Reason}
	case errors.As(err, &ne):
		return &Result{Kind: ResultNode, Text: ne.Err.Error(), Route: errors.As(err, &re)}
	}
	return &Result{Kind: ResultOther, Text: err.Error()}
}
