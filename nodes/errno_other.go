//go:build !windows

package nodes

import (
	"errors"
	"syscall"
)

// connRefused reports whether err is a refused TCP connection.
func connRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// connDropped reports whether err is a connection the peer reset or closed
// under a write.
func connDropped(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
