package gateway

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/drove-dev/drove/internal/keepalive"
	"golang.org/x/crypto/ssh"
)

// Keepalive is how a connection is watched: a keepalive every Interval,
// and the connection is closed when one goes unanswered for
// Interval*CountMax. Interval 0 sends none.
type Keepalive struct {
	Interval time.Duration
	CountMax int
}

// subsystemStream is a subsystem's stdin and stdout on a connection of its
// own.
type subsystemStream struct {
	conn   *ssh.Client
	sess   *ssh.Session
	stdin  io.WriteCloser
	stdout io.Reader
	dead   chan struct{} // closed when conn is gone
	once   sync.Once
}

// OpenSubsystem starts subsystem (e.g. "sftp") on conn in a session of its
// own and returns its stdin and stdout as one stream, which owns conn:
// Close closes the session and conn. conn is watched with ka's keepalives,
// and closed when they go unanswered (a read then ends with io.EOF, as an
// SSH channel's does when its connection dies). Starting waits at most
// timeout (0: 30 seconds), then closes conn.
func OpenSubsystem(conn *ssh.Client, subsystem string, ka Keepalive, timeout time.Duration) (io.ReadWriteCloser, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	s := &subsystemStream{conn: conn, dead: make(chan struct{})}
	go func() {
		_ = conn.Wait()
		close(s.dead)
	}()
	timer := time.AfterFunc(timeout, func() { _ = conn.Close() })
	err := s.start(subsystem)
	timer.Stop()
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("gateway: starting the %s subsystem: %w", subsystem, err)
	}
	if ka.Interval > 0 {
		go keepalive.Watch(conn, s.dead, ka.Interval, ka.CountMax, nil)
	}
	return s, nil
}

func (s *subsystemStream) start(subsystem string) error {
	sess, err := s.conn.NewSession()
	if err != nil {
		return err
	}
	s.sess = sess
	if s.stdin, err = sess.StdinPipe(); err != nil {
		return err
	}
	if s.stdout, err = sess.StdoutPipe(); err != nil {
		return err
	}
	return sess.RequestSubsystem(subsystem)
}

func (s *subsystemStream) Read(p []byte) (int, error)  { return s.stdout.Read(p) }
func (s *subsystemStream) Write(p []byte) (int, error) { return s.stdin.Write(p) }

// Close closes the connection (and so the session) and waits for it to
// be gone.
func (s *subsystemStream) Close() error {
	s.once.Do(func() {
		_ = s.conn.Close()
		<-s.dead
	})
	return nil
}
