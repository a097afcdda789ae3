package nodes

import (
	"os"
	"syscall"
)

func proxySysProcAttr() *syscall.SysProcAttr { return nil }

// hangUp: Windows has no hang-up signal; the command sees its stdin close.
func hangUp(*os.Process) {}

// killGroup kills the command (its own children are not reached).
func killGroup(p *os.Process) { _ = p.Kill() }
