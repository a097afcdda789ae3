//go:build unix && !linux

package sshdtest

import "syscall"

// procfs says this system has the Linux /proc the package reads: Start
// skips (or fails under CI) without it.
const procfs = false

// sysProcAttr has nothing to add off Linux (no parent-death signal).
func sysProcAttr() *syscall.SysProcAttr { return nil }
