package sshtest

import (
	"net"
	"testing"
)

// Refusing returns an address on 127.0.0.1 where every connection is
// refused, for the whole test: a socket of the test's own is bound there
// and never listens. Unlike an address whose listener was closed, no other
// process can be given the port meanwhile.
func Refusing(t testing.TB) *net.TCPAddr {
	t.Helper()
	port, release, err := bindOnly()
	if err != nil {
		t.Fatalf("sshtest: refusing address: %v", err)
	}
	t.Cleanup(release)
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
}
