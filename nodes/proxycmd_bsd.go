//go:build unix && !linux

package nodes

import "syscall"

// proxySysProcAttr puts a ProxyCommand in its watchdog's process group:
// the watchdog kills it, and its children, if drove dies without closing
// the connection.
func proxySysProcAttr(w *proxyWatch) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pgid: w.group()}
}
