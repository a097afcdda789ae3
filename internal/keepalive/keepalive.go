// Package keepalive watches an SSH connection as OpenSSH's
// ServerAliveInterval and ServerAliveCountMax do.
package keepalive

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/ssh"
)

// Watch sends keepalive@openssh.com on conn every interval. Any reply,
// even a refusal, means the peer is alive (OpenSSH and gliderlabs answer
// "failure" to requests they do not know). When one goes unanswered for
// interval*countMax (countMax < 1 counts as 1), Watch closes conn, which
// fails everything on it. It returns when conn is closed that way, when a
// request fails because conn is gone, or when dead is closed.
func Watch(conn *ssh.Client, dead <-chan struct{}, interval time.Duration, countMax int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-dead:
			return
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := conn.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		wait := time.NewTimer(interval * time.Duration(max(countMax, 1)))
		select {
		case err := <-reply:
			wait.Stop()
			if err != nil && !errors.Is(err, context.Canceled) {
				_ = conn.Close()
				return
			}
		case <-wait.C:
			_ = conn.Close()
			return
		case <-dead:
			wait.Stop()
			return
		}
	}
}
