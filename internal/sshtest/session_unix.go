//go:build unix

package sshtest

import (
	"fmt"
	"os/exec"
	"syscall"
)

// shell returns "sh -c raw" set to run in a process group of its own, as
// sshd runs sessions.
func shell(raw string) *exec.Cmd {
	c := exec.Command("sh", "-c", raw)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c
}

// terminate sends SIGTERM to the started command's process group.
func terminate(c *exec.Cmd) { _ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM) }

// exitSignal returns the SSH name ("TERM") of the signal that killed the
// command, if one did.
func exitSignal(ee *exec.ExitError) (string, bool) {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return "", false
	}
	return sigName(ws.Signal()), true
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGUSR1:
		return "USR1"
	case syscall.SIGUSR2:
		return "USR2"
	case syscall.SIGSEGV:
		return "SEGV"
	case syscall.SIGPIPE:
		return "PIPE"
	}
	return fmt.Sprintf("%d", int(s))
}
