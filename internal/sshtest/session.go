package sshtest

import (
	"errors"
	"io"
	"os"
	"os/exec"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
)

// handle runs the session's command with sh, wiring stdin, stdout, stderr,
// TERM and the exit status or signal back like sshd.
func (ts *Server) handle(s gliderssh.Session) {
	ts.Commands.Add(1)
	pr, pw, err := os.Pipe()
	if err != nil {
		_ = s.Exit(255)
		return
	}
	go func() {
		_, _ = io.Copy(pw, s)
		_ = pw.Close()
	}()
	c := shell(s.RawCommand())
	c.Stdin, c.Stdout, c.Stderr = pr, s, s.Stderr()
	if err := c.Start(); err != nil {
		_ = pr.Close()
		_ = s.Exit(127)
		return
	}
	_ = pr.Close()
	sigs := make(chan gliderssh.Signal, 4)
	s.Signals(sigs)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == gliderssh.SIGTERM {
					terminate(c)
				}
			case <-done:
				return
			}
		}
	}()
	err = c.Wait()
	close(done)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if name, ok := exitSignal(ee); ok {
			msg := struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}{Signal: name}
			_, _ = s.SendRequest("exit-signal", false, ssh.Marshal(&msg))
			_ = s.Close()
			return
		}
		_ = s.Exit(ee.ExitCode())
		return
	}
	_ = s.Exit(0)
}
