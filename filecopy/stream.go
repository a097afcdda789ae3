package filecopy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

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
	stopWatch := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = w.Close()
		case <-stopWatch:
		case <-w.dead:
		}
	}()
	s.close = func() {
		s.once.Do(func() {
			close(stopWatch)
			if s.sftp != nil {
				_ = s.sftp.Close()
			}
			_ = w.Close()
		})
	}
	timer := time.AfterFunc(sftpStartTimeout, func() { _ = w.Close() })
	c, err := sftp.NewClientPipe(w, w, sftp.UseConcurrentWrites(true))
	timer.Stop()
	if err != nil {
		s.close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w while starting SFTP", ErrInterrupted)
		}
		return nil, fmt.Errorf("filecopy: starting SFTP (the node's sshd needs an sftp Subsystem): %w", err)
	}
	s.sftp = c
	return s, nil
}
