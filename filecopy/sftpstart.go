package filecopy

import (
	"context"
	"fmt"
	"time"

	"github.com/pkg/sftp"
)

// start makes s's SFTP client with newClient over a node's connection or
// stream, which closeConn closes, and returns s. Until s.close, ctx's end
// closes the connection; closeConn also ends a start that has not finished
// within sftpStartTimeout. s.close closes the SFTP client, then the
// connection, and with waitDead waits for s.dead. When newClient fails, s
// is closed, and the error wraps ErrInterrupted if ctx had ended.
func (s *session) start(ctx context.Context, closeConn func() error, waitDead bool, newClient func(...sftp.ClientOption) (*sftp.Client, error)) (*session, error) {
	stopWatch := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = closeConn()
		case <-stopWatch:
		case <-s.dead:
		}
	}()
	s.close = func() {
		s.once.Do(func() {
			close(stopWatch)
			if s.sftp != nil {
				_ = s.sftp.Close()
			}
			_ = closeConn()
			if waitDead {
				<-s.dead
			}
		})
	}
	timer := time.AfterFunc(sftpStartTimeout, func() { _ = closeConn() })
	c, err := newClient(sftp.UseConcurrentWrites(true))
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
