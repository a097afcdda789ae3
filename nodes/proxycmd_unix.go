//go:build unix

package nodes

import (
	"os"
	"syscall"
)

// hangUp sends SIGHUP to the command's process group, as ssh does.
func hangUp(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGHUP) }

// killGroup kills what is left of the command's process group.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
