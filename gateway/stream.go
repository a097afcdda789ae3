package gateway

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Streams: a byte stream between the controller and something the gateway
// opens on a node (a subsystem such as "sftp", for drove copy), relayed as
// frames both ways. The controller asks with a StreamOpen frame (Text the
// node's spec, Route the rest of its route, Subsystem what to open); the
// gateway answers with a Connected frame of the same ID (Err: why not);
// then each side sends StreamData frames, which the other side acknowledges
// with StreamAck frames once its reader has taken the bytes, and either
// side ends the stream with a StreamClose frame (Err: why, "" for a clean
// end), after which it sends nothing more of that stream and drops what
// still arrives for it.
//
// Flow control is per stream and per direction, as each job's output
// window (window.go): a side sends at most streamWindow bytes its peer's
// reader has not taken. Frames of a stream are queued for that stream's
// own reader and never wait on it, so a stream whose reader is stalled (a
// node that stops reading, a controller whose disk is slow) holds up no
// other stream, job or heartbeat of the same gateway: its writer waits on
// its window, as an SSH channel's writer waits on the channel's window.

const (
	kindStreamOpen  kind = 90 + iota // controller: open Subsystem on the node of spec Text, along Route, as stream ID
	kindStreamData                   // both ways: Data of stream ID
	kindStreamAck                    // both ways: Bytes more of stream ID's data were taken by its reader
	kindStreamClose                  // both ways: stream ID is over (Err: why, "" for a clean end)
)

// streamWindow is how many bytes of one stream may be on their way one
// way and not yet taken by the reader at the other end.
const streamWindow = 2 << 20

// streamChunk is the most bytes one StreamData frame carries.
const streamChunk = 32 << 10

// ackEvery is how many taken bytes a reader lets pile up before it
// acknowledges them. A writer waits only when more than streamWindow -
// streamChunk bytes are unacknowledged, all of them either queued for the
// reader or taken by it; as ackEvery is below that, the reader then
// acknowledges once it has taken them: the two never wait on each other.
const ackEvery = 256 << 10

// errStreamClosed is a read or write on a stream this side closed.
var errStreamClosed = errors.New("gateway: stream closed")

// errPeerClosed is a write on a stream the other side closed.
var errPeerClosed = errors.New("gateway: stream closed by the other side")

// streamEnd is one side's state of a stream: the data received and not
// yet read, and the window of the data sent.
type streamEnd struct {
	mu      sync.Mutex
	cond    *sync.Cond
	in      [][]byte // received, not yet read (the first maybe in part)
	taken   int64    // read and not yet acknowledged
	rerr    error    // what a read returns once in is empty
	werr    error    // what a write returns
	unacked int64    // sent, not yet acknowledged by the peer
}

func newStreamEnd() *streamEnd {
	e := &streamEnd{}
	e.cond = sync.NewCond(&e.mu)
	return e
}

// push queues data received from the peer (dropped once reads have ended).
func (e *streamEnd) push(data []byte) {
	if len(data) == 0 {
		return
	}
	e.mu.Lock()
	if e.rerr == nil {
		e.in = append(e.in, data)
		e.cond.Broadcast()
	}
	e.mu.Unlock()
}

// read waits for data (or the end) and copies it into p. ack is how many
// taken bytes to acknowledge now (0: none yet).
func (e *streamEnd) read(p []byte) (n int, ack int64, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.in) == 0 && e.rerr == nil {
		e.cond.Wait()
	}
	if len(e.in) == 0 {
		return 0, 0, e.rerr
	}
	for len(e.in) > 0 && n < len(p) {
		c := copy(p[n:], e.in[0])
		n += c
		if c == len(e.in[0]) {
			e.in[0] = nil
			e.in = e.in[1:]
		} else {
			e.in[0] = e.in[0][c:]
		}
	}
	e.taken += int64(n)
	if e.taken >= ackEvery {
		ack, e.taken = e.taken, 0
	}
	return n, ack, nil
}

// take waits until n more bytes may be sent (always, when none are on
// their way) and counts them; the error is why no more may be written.
func (e *streamEnd) take(n int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.werr == nil && e.unacked > 0 && e.unacked+int64(n) > streamWindow {
		e.cond.Wait()
	}
	if e.werr != nil {
		return e.werr
	}
	e.unacked += int64(n)
	return nil
}

// ack counts n bytes the peer's reader has taken.
func (e *streamEnd) ack(n int64) {
	e.mu.Lock()
	e.unacked -= n
	e.cond.Broadcast()
	e.mu.Unlock()
}

// peerClosed is the peer's StreamClose: reads return what was received,
// then rerr; writes fail.
func (e *streamEnd) peerClosed(rerr error) {
	e.mu.Lock()
	if e.rerr == nil {
		e.rerr = rerr
	}
	if e.werr == nil {
		e.werr = errPeerClosed
	}
	e.cond.Broadcast()
	e.mu.Unlock()
}

// shut ends the stream on this side at once with err: what was received
// and not read is dropped, and every wait ends.
func (e *streamEnd) shut(err error) {
	e.mu.Lock()
	if e.rerr == nil {
		e.rerr = err
	}
	e.in = nil
	if e.werr == nil {
		e.werr = err
	}
	e.cond.Broadcast()
	e.mu.Unlock()
}

// writeFrames sends p as StreamData frames of stream id within e's window.
func writeFrames(c *conn, e *streamEnd, id uint64, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		chunk := p[n:min(len(p), n+streamChunk)]
		if err := e.take(len(chunk)); err != nil {
			return n, err
		}
		if err := c.send(&frame{Kind: kindStreamData, ID: id, Data: chunk}); err != nil {
			return n, err
		}
		n += len(chunk)
	}
	return n, nil
}

// closeFrame is the StreamClose frame of stream id that err ended
// (io.EOF: the node's side ended cleanly; a *LostError: a gateway further
// down was lost).
func closeFrame(id uint64, err error) *frame {
	f := &frame{Kind: kindStreamClose, ID: id}
	if le, ok := errors.AsType[*LostError](err); ok {
		f.Lost, f.Err = le.Gateway, fmt.Sprint(le.Err)
	} else if !errors.Is(err, io.EOF) {
		f.Err = err.Error()
	}
	return f
}

// closeErr is the error a StreamClose frame stands for: a clean end is
// io.EOF, a gateway lost further down a *LostError.
func closeErr(f *frame) error {
	switch {
	case f.Lost != "":
		return &LostError{Gateway: f.Lost, Err: errors.New(f.Err)}
	case f.Err == "":
		return io.EOF
	}
	return errors.New(f.Err)
}
