//go:build unix

package runner

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Run runs cmd. On ctx cancellation the job's process group gets SIGTERM,
// then SIGKILL after Grace.
func (l *Local) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	grace := l.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	command := remoteCommand(cmd, int((grace+time.Second-1)/time.Second), newMark())
	if err := CheckJob(cmd, command); err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return &NodeError{Node: ":", Err: err}
	}
	c := exec.Command("sh", "-c", command)
	c.Stdin, c.Stdout, c.Stderr = pr, stdout, stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = c.Start()
	pr.Close()
	if err != nil {
		pw.Close()
		if errors.Is(err, syscall.E2BIG) {
			// The job's environment and command together exceed ARG_MAX.
			return &UnstartableError{Reason: err.Error()}
		}
		return &NodeError{Node: ":", Err: err}
	}
	defer pw.Close()
	pgid := c.Process.Pid
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()

	select {
	case err = <-done:
	case <-ctx.Done():
		// The wrapper's watcher takes it from here, processes that left the
		// job's group included.
		_, _ = pw.Write([]byte("k\n"))
		_ = pw.Close()
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(grace + time.Second)
		select {
		case <-done:
			t.Stop()
		case <-t.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
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
