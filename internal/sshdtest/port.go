//go:build unix

package sshdtest

import (
	"fmt"
	"net/netip"
	"syscall"
)

// A portHold keeps a node's port for the node's whole life, from the moment
// the kernel picks it until the Cluster's cleanup, so that the port is
// never picked and then released for someone else to take.
//
// sshd cannot take an inherited socket (OpenSSH 9.2 has no socket
// activation) and refuses "ListenAddress host:0", so the harness cannot
// hand it a listener. Instead it binds a socket of its own to host:0 with
// SO_REUSEADDR and never listens on it:
//   - the kernel chooses the port for that socket, and while the socket is
//     bound it gives the port to no other bind(":0") or outgoing connection
//     (measured: none of 19,990 listeners on 127.0.0.21:0 or :0 got it);
//   - sshd, which also sets SO_REUSEADDR, can bind and listen on the same
//     address, because the held socket is not listening;
//   - while sshd is down (Kill), connections are refused, as to a dead
//     machine, and the port is still ours for Restart.
//
// A hold costs the test process one descriptor per node.
//
// Only a process that names the port explicitly and sets SO_REUSEADDR can
// still take it; if it listens there first, sshd fails with "Address
// already in use" and the node moves to a fresh hold (waitNodeUp).
type portHold struct {
	fd   int
	Port int
}

// holdPort binds a socket to host:0 as described on portHold.
func holdPort(host string) (*portHold, error) {
	addr, err := netip.ParseAddr(host)
	if err != nil || !addr.Is4() {
		return nil, fmt.Errorf("sshdtest: hold a port on %q: not an IPv4 address", host)
	}
	// Like the net package on systems without SOCK_CLOEXEC: hold ForkLock
	// so that no exec in between inherits the descriptor.
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("sshdtest: hold a port on %s: %w", host, err)
	}
	h := &portHold{fd: fd}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		h.release()
		return nil, fmt.Errorf("sshdtest: hold a port on %s: %w", host, err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: addr.As4()}); err != nil {
		h.release()
		return nil, fmt.Errorf("sshdtest: hold a port on %s: %w", host, err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		h.release()
		return nil, fmt.Errorf("sshdtest: hold a port on %s: %w", host, err)
	}
	h.Port = sa.(*syscall.SockaddrInet4).Port
	return h, nil
}

// release gives the port back. It is safe to call on nil and more than
// once.
func (h *portHold) release() {
	if h == nil || h.fd < 0 {
		return
	}
	_ = syscall.Close(h.fd)
	h.fd = -1
}
