package filecopy

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/pkg/sftp"
)

// watchedStream is a node's SFTP stream (Node.Open) that closes dead when
// its reads end, and keeps why when they ended before the copy closed it.
type watchedStream struct {
	rwc  io.ReadWriteCloser
	dead chan struct{}

	mu     sync.Mutex
	ended  bool
	closed bool  // closed by the copy
	cause  error // the read error that ended it first (not io.EOF), unless closed
}

func (w *watchedStream) Read(p []byte) (int, error) {
	n, err := w.rwc.Read(p)
	if err != nil {
		w.mu.Lock()
		if !w.ended {
			w.ended = true
			if !w.closed && !errors.Is(err, io.EOF) {
				w.cause = err
			}
			close(w.dead)
		}
		w.mu.Unlock()
	}
	return n, err
}

func (w *watchedStream) Write(p []byte) (int, error) { return w.rwc.Write(p) }

func (w *watchedStream) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	return w.rwc.Close()
}

func (w *watchedStream) why() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cause
}

// openStream opens n's stream (Node.Open) and starts SFTP on it; the
// stream closes when ctx is cancelled.
func openStream(ctx context.Context, n Node) (*session, error) {
	rwc, err := n.Open(ctx)
	if err != nil {
		return nil, err
	}
	w := &watchedStream{rwc: rwc, dead: make(chan struct{})}
	s := &session{dead: w.dead, cause: w.why}
	// A stream's dead closes only when a read ends, which may never come
	// (a start that failed before it read): close does not wait for it.
	return s.start(ctx, w.Close, false, func(o ...sftp.ClientOption) (*sftp.Client, error) {
		return sftp.NewClientPipe(w, w, o...)
	})
}
