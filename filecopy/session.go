package filecopy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/drove-dev/drove/internal/keepalive"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sftpStartTimeout bounds opening the SFTP session (channel, subsystem
// request, version exchange) on a connection that is up.
const sftpStartTimeout = 30 * time.Second

// session is one node's SSH connection (or stream) and its SFTP client;
// dead is closed when the connection is gone.
type session struct {
	conn  *ssh.Client // nil for a stream
	sftp  *sftp.Client
	dead  chan struct{}
	once  sync.Once
	close func()
	// cause is why a stream's reads ended (nil: io.EOF, or not a stream).
	cause func() error
}

// lostErr is the error of the node once its connection is lost: with the
// cause when the stream's end gave one.
func (s *session) lostErr() func() error {
	return func() error {
		if s.cause != nil {
			if c := s.cause(); c != nil {
				return fmt.Errorf("%w: %v", ErrConnectionLost, c)
			}
		}
		return ErrConnectionLost
	}
}

// openSession dials n and starts SFTP on it, with keepalives (or opens its
// stream, Node.Open); the connection closes when ctx is cancelled or the
// node stops answering.
func openSession(ctx context.Context, n Node) (*session, error) {
	if n.Dial == nil {
		return openStream(ctx, n)
	}
	conn, err := n.Dial(ctx)
	if err != nil {
		return nil, err
	}
	s := &session{conn: conn, dead: make(chan struct{})}
	go func() {
		_ = conn.Wait()
		close(s.dead)
	}()
	if n.KeepaliveInterval > 0 {
		go keepalive.Watch(conn, s.dead, n.KeepaliveInterval, n.KeepaliveCountMax, nil)
	}
	// conn.Wait ends once the connection is closed: close waits for dead.
	return s.start(ctx, conn.Close, true, func(o ...sftp.ClientOption) (*sftp.Client, error) {
		return sftp.NewClient(conn, o...)
	})
}
