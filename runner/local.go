package runner

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// Local runs commands on this machine with "sh -c", in a process group of
// their own, so that killing a job kills everything it started.
type Local struct {
	// Grace is how long a killed job gets between SIGTERM and SIGKILL.
	Grace time.Duration
}

var _ Host = (*Local)(nil)

// Run runs cmd with stdin from /dev/null. On ctx cancellation the job's
// process group gets SIGTERM, then SIGKILL after Grace.
func (l *Local) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	c := exec.Command("sh", "-c", cmd)
	c.Stdout, c.Stderr = stdout, stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		return &NodeError{Node: ":", Err: err}
	}
	pgid := c.Process.Pid
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()

	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		grace := l.Grace
		if grace <= 0 {
			grace = 5 * time.Second
		}
		t := time.NewTimer(grace)
		select {
		case <-done:
			t.Stop()
		case <-t.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		// Whatever the job left in its group goes too.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return ctx.Err()
	}
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &ExitError{Status: 128 + int(ws.Signal()), Signal: signalName(ws.Signal())}
		}
		return &ExitError{Status: ee.ExitCode()}
	}
	return &NodeError{Node: ":", Err: err}
}

// Close does nothing: there is no connection.
func (l *Local) Close() error { return nil }

// signalName turns a signal into the SSH protocol's name for it ("TERM").
func signalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGABRT: "ABRT", syscall.SIGALRM: "ALRM", syscall.SIGFPE: "FPE", syscall.SIGHUP: "HUP",
		syscall.SIGILL: "ILL", syscall.SIGINT: "INT", syscall.SIGKILL: "KILL", syscall.SIGPIPE: "PIPE",
		syscall.SIGQUIT: "QUIT", syscall.SIGSEGV: "SEGV", syscall.SIGTERM: "TERM", syscall.SIGUSR1: "USR1",
		syscall.SIGUSR2: "USR2", syscall.SIGBUS: "BUS",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return s.String()
}
