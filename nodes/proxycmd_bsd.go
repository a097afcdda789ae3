//go:build unix && !linux

package nodes

import "syscall"

// proxySysProcAttr puts a ProxyCommand in a process group of its own.
// (There is no Pdeathsig here: a drove killed with SIGKILL leaves the
// command to notice its closed stdin.)
func proxySysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
