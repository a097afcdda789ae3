package nodes

import "syscall"

// proxySysProcAttr puts a ProxyCommand in a process group of its own, and
// has the kernel kill it if drove dies without closing the connection.
func proxySysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
