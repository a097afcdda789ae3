package runner

import (
	"fmt"
	"time"
)

// keepalive sends keepalive@openssh.com every interval, as OpenSSH's
// ServerAliveInterval does. Any reply, even a refusal, means the node is
// alive (OpenSSH and gliderlabs both answer "failure" to requests they do
// not know). When one goes unanswered for interval*countMax the connection
// is closed, which fails every session on it. It returns when the
// connection dies.
func keepalive(c *sshConn, interval time.Duration, countMax int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.dead:
			return
		}
		wait := interval * time.Duration(countMax)
		if !ping(c, wait) {
			c.kill(fmt.Errorf("node stopped answering: no keepalive reply in %s", wait))
			return
		}
	}
}

// ping sends one keepalive and reports whether any reply came within wait.
func ping(c *sshConn, wait time.Duration) bool {
	reply := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-reply:
		return err == nil
	case <-t.C:
		return false
	case <-c.dead:
		return false
	}
}
