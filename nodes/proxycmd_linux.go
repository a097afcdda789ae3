package nodes

import "syscall"

// proxySysProcAttr puts a ProxyCommand in its watchdog's process group,
// and has the kernel kill the command itself if drove dies without closing
// the connection (its children are the watchdog's).
func proxySysProcAttr(w *proxyWatch) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pgid: w.group(), Pdeathsig: syscall.SIGKILL}
}
