package gateway

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Opener opens, on the gateway, a byte stream to a node for a stream the
// controller asked for: the subsystem named (e.g. "sftp") on the node of
// spec, which the gateway reaches itself (route empty) or through the
// gateways of route below it, with the controller's Options. Closing the
// stream closes what it opened (the session, and the connection when the
// stream has one of its own). A read that ends because the node's
// connection died may return io.EOF, as an SSH channel's does.
type Opener func(ctx context.Context, spec string, route [][]string, subsystem string, opts Options) (io.ReadWriteCloser, error)

// relay is one stream on the gateway: frames from the controller written
// to the node's stream, and the node's stream read into frames.
type relay struct {
	id  uint64
	end *streamEnd

	mu     sync.Mutex
	node   io.ReadWriteCloser // nil until open
	closed bool               // the stream is over: a node opened late is closed at once
	sent   bool               // a StreamClose was sent or received: send none (again)
}

// streamFrame does what a stream's frame from the controller asks.
func (s *server) streamFrame(ctx context.Context, f *frame) {
	if f.Kind == kindStreamOpen {
		s.openStream(ctx, f)
		return
	}
	s.mu.Lock()
	r := s.streams[f.ID]
	s.mu.Unlock()
	if r == nil {
		return // over here already: what was on its way is dropped
	}
	switch f.Kind {
	case kindStreamData:
		r.end.push(f.Data)
	case kindStreamAck:
		r.end.ack(f.Bytes)
	case kindStreamClose:
		r.mu.Lock()
		r.sent = true
		r.mu.Unlock()
		// Closing the node's stream may wait on the node (a session's
		// close is a message to it): not in the loop that reads frames.
		go r.stop(s, errStreamClosed)
	}
}

func (s *server) openStream(ctx context.Context, f *frame) {
	id := f.ID
	if s.open == nil {
		go func() { _ = s.c.send(&frame{Kind: kindConnected, ID: id, Err: "this gateway relays no streams"}) }()
		return
	}
	r := &relay{id: id, end: newStreamEnd()}
	s.mu.Lock()
	if s.streams == nil {
		s.streams = map[uint64]*relay{}
	}
	s.streams[id] = r
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		node, err := s.open(ctx, f.Text, f.Route, f.Subsystem, s.opts)
		if err != nil {
			s.forgetStream(id)
			_ = s.c.send(&frame{Kind: kindConnected, ID: id, Err: err.Error()})
			return
		}
		r.mu.Lock()
		closed := r.closed
		r.node = node
		r.mu.Unlock()
		if closed { // the controller gave up waiting, or the conversation ended
			_ = node.Close()
			return
		}
		if err := s.c.send(&frame{Kind: kindConnected, ID: id}); err != nil {
			r.stop(s, err)
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			r.down(s)
		}()
		r.up(s)
	}()
}

// down writes what the controller sends to the node's stream, and
// acknowledges it once written.
func (r *relay) down(s *server) {
	buf := make([]byte, streamChunk*2)
	for {
		n, ack, err := r.end.read(buf)
		if n > 0 {
			if _, werr := r.node.Write(buf[:n]); werr != nil {
				// The node's stream takes no more: its connection is
				// going. A controller reaching the node directly sees
				// that end with no reason (its channel's reads end), so
				// the controller is told a plain end too, whichever of
				// the write or the read here fails first; a gateway lost
				// further down stays its typed loss.
				if _, lost := errors.AsType[*LostError](werr); !lost {
					werr = io.EOF
				}
				r.stop(s, werr)
				return
			}
		}
		if ack > 0 {
			if serr := s.c.send(&frame{Kind: kindStreamAck, ID: r.id, Bytes: ack}); serr != nil {
				r.stop(s, serr)
				return
			}
		}
		if err != nil {
			return // stopped: stop closed the node's stream
		}
	}
}

// up sends what the node's stream says, within the stream's window,
// until it ends.
func (r *relay) up(s *server) {
	buf := make([]byte, streamChunk)
	for {
		n, err := r.node.Read(buf)
		if n > 0 {
			if _, werr := writeFrames(s.c, r.end, r.id, buf[:n]); werr != nil {
				r.stop(s, werr)
				return
			}
		}
		if err != nil {
			r.stop(s, err)
			return
		}
	}
}

// stop ends the stream with err (io.EOF: the node's side ended cleanly):
// the controller is told unless it said so itself, and the node's stream
// is closed.
func (r *relay) stop(s *server, err error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	tell := !r.sent
	r.sent = true
	node := r.node
	r.mu.Unlock()
	s.forgetStream(r.id)
	r.end.shut(errStreamClosed)
	if tell && !errors.Is(err, errStreamClosed) && !errors.Is(err, errGone) {
		_ = s.c.send(closeFrame(r.id, err))
	}
	if node != nil {
		_ = node.Close()
	}
}

func (s *server) forgetStream(id uint64) {
	s.mu.Lock()
	delete(s.streams, id)
	s.mu.Unlock()
}

// stopStreams ends every stream (the conversation is over): each node's
// stream is closed, which ends its relay's goroutines.
func (s *server) stopStreams() {
	s.mu.Lock()
	rs := make([]*relay, 0, len(s.streams))
	for _, r := range s.streams {
		rs = append(rs, r)
	}
	s.mu.Unlock()
	for _, r := range rs {
		r.mu.Lock()
		r.sent = true // nobody to tell
		r.mu.Unlock()
		r.stop(s, errGone)
	}
}
