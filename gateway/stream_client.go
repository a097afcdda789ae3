package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Stream is, on the controller, a byte stream to something a gateway
// opened on a node (OpenStream): what is written reaches it, what it
// writes is read, within a window per direction (stream.go). It is an
// io.ReadWriteCloser, safe for one reader and one writer at once.
//
// Read returns io.EOF when the node's side ended (the subsystem exited,
// or the gateway's connection to the node closed or died, as a direct SSH
// channel's read does), and a *LostError when the gateway is gone, or
// when a gateway further down a topology that carried the stream is;
// writes then fail. Close ends the stream both ways: the gateway closes
// what it opened on the node.
type Stream struct {
	cl   *Client
	id   uint64
	end  *streamEnd
	once sync.Once
	gone chan struct{} // closed by Close
}

// OpenStream asks the gateway to open subsystem (e.g. "sftp") on the node
// of spec, which the gateway reaches itself (route empty) or through the
// gateways of route below it, as ConnectVia. name is the node's name in
// the controller's messages. The wait ends with ctx (the caller's connect
// timeout) or the gateway's loss (a *LostError, also when the request
// cannot be sent).
func (cl *Client) OpenStream(ctx context.Context, name, spec string, route [][]string, subsystem string) (*Stream, error) {
	id := cl.id()
	ch := make(chan string, 1)
	s := &Stream{cl: cl, id: id, end: newStreamEnd(), gone: make(chan struct{})}
	cl.mu.Lock()
	if cl.err != nil {
		err := cl.err
		cl.mu.Unlock()
		return nil, err
	}
	if cl.streams == nil {
		cl.streams = map[uint64]*Stream{}
	}
	cl.connects[id] = ch
	cl.streams[id] = s
	cl.mu.Unlock()
	go func() {
		select {
		case <-cl.done:
			s.end.shut(cl.Err())
		case <-s.gone:
		}
	}()
	if err := cl.c.send(&frame{Kind: kindStreamOpen, ID: id, Text: spec, Route: route, Subsystem: subsystem}); err != nil {
		s.forget()
		return nil, s.failed(err) // the gateway's loss, not the node's
	}
	select {
	case msg := <-ch:
		if msg != "" {
			s.forget()
			return nil, fmt.Errorf("via gateway %s: %s", cl.name, msg)
		}
		return s, nil
	case <-ctx.Done():
		_ = s.Close() // the gateway closes it once it is open
		return nil, ctx.Err()
	case <-cl.done:
		s.forget()
		return nil, cl.Err()
	}
}

// Gateway is the name of the gateway that relays the stream.
func (s *Stream) Gateway() string { return s.cl.name }

// streamFrameLocked hands a stream's frame (data, ack, close) to its
// stream, without waiting on it; cl.mu is held.
func (cl *Client) streamFrameLocked(f *frame) {
	s := cl.streams[f.ID]
	if s == nil {
		return // closed here: what was on its way is dropped
	}
	switch f.Kind {
	case kindStreamData:
		s.end.push(f.Data)
	case kindStreamAck:
		s.end.ack(f.Bytes)
	case kindStreamClose:
		delete(cl.streams, f.ID)
		s.end.peerClosed(closeErr(f))
	}
}

// Read reads what the node's side wrote.
func (s *Stream) Read(p []byte) (int, error) {
	n, ack, err := s.end.read(p)
	if ack > 0 {
		if serr := s.cl.c.send(&frame{Kind: kindStreamAck, ID: s.id, Bytes: ack}); serr != nil {
			s.end.shut(s.failed(serr))
		}
	}
	return n, err
}

// Write sends p to the node's side; it waits while the stream's window
// is full (the node or the gateway reads slower than p comes).
func (s *Stream) Write(p []byte) (int, error) {
	n, err := writeFrames(s.cl.c, s.end, s.id, p)
	if err != nil {
		err = s.failed(err)
	}
	return n, err
}

// failed is the stream's error for err: the stream's own end as it is,
// and a send that failed on the gateway's session as the gateway's loss
// (the conversation is over: the gateway is lost with err, unless it was
// already, and every stream through it ends with the same *LostError).
func (s *Stream) failed(err error) error {
	if errors.Is(err, errPeerClosed) || errors.Is(err, errStreamClosed) {
		return err
	}
	if _, ok := errors.AsType[*LostError](err); ok {
		return err
	}
	s.cl.lose(err)
	return s.cl.Err()
}

// Close ends the stream both ways; a Read or Write under way returns.
func (s *Stream) Close() error {
	s.once.Do(func() {
		s.end.shut(errStreamClosed)
		close(s.gone)
		s.cl.mu.Lock()
		_, open := s.cl.streams[s.id]
		delete(s.cl.streams, s.id)
		delete(s.cl.connects, s.id)
		lost := s.cl.err != nil
		s.cl.mu.Unlock()
		if open && !lost {
			_ = s.cl.c.send(&frame{Kind: kindStreamClose, ID: s.id})
		}
	})
	return nil
}

// forget drops a stream that never opened.
func (s *Stream) forget() {
	s.once.Do(func() {
		s.end.shut(errStreamClosed)
		close(s.gone)
		s.cl.mu.Lock()
		delete(s.cl.streams, s.id)
		delete(s.cl.connects, s.id)
		s.cl.mu.Unlock()
	})
}
