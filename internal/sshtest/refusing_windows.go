package sshtest

import "syscall"

// bindOnly binds a TCP socket to 127.0.0.1:0 without listening and returns
// its port and a function that closes it.
func bindOnly() (int, func(), error) {
	h, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_TCP)
	if err != nil {
		return 0, nil, err
	}
	if err := syscall.Bind(h, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Closesocket(h)
		return 0, nil, err
	}
	sa, err := syscall.Getsockname(h)
	if err != nil {
		syscall.Closesocket(h)
		return 0, nil, err
	}
	return sa.(*syscall.SockaddrInet4).Port, func() { syscall.Closesocket(h) }, nil
}
