// Package keepalive watches an SSH connection as OpenSSH's
// ServerAliveInterval and ServerAliveCountMax do.
package keepalive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// Watch sends keepalive@openssh.com on conn every interval. Any reply,
// even a refusal, means the peer is alive (OpenSSH and gliderlabs answer
// "failure" to requests they do not know). When one goes unanswered for
// interval*countMax (countMax < 1 counts as 1), or a request fails because
// conn is gone, Watch calls lost with why (nil lost: it closes conn, which
// fails everything on it) and returns. It also returns when dead is
// closed.
func Watch(conn *ssh.Client, dead <-chan struct{}, interval time.Duration, countMax int, lost func(error)) {
	if lost == nil {
		lost = func(error) { _ = conn.Close() }
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	window := interval * time.Duration(max(countMax, 1))
	for {
		select {
		case <-t.C:
		case <-dead:
			return
		}
		switch err := ping(conn, window, dead); {
		case errors.Is(err, errDead):
			return
		case err != nil:
			lost(err)
			return
		}
	}
}

// Ping sends one keepalive on conn and reports whether any reply came
// within wait; it gives up early, false, when dead is closed.
func Ping(conn *ssh.Client, wait time.Duration, dead <-chan struct{}) bool {
	return ping(conn, wait, dead) == nil
}

var errDead = errors.New("keepalive: the watch ended")

func ping(conn *ssh.Client, wait time.Duration, dead <-chan struct{}) error {
	reply := make(chan error, 1)
	go func() {
		_, _, err := conn.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-reply:
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("keepalive: %w", err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("no keepalive reply in %s", wait)
	case <-dead:
		return errDead
	}
}
