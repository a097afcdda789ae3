package nodes

import (
	"errors"

	"golang.org/x/sys/windows"
)

// connRefused reports whether err is a refused TCP connection. Winsock
// reports its own codes, not the POSIX-like values package syscall invents
// for Windows.
func connRefused(err error) bool { return errors.Is(err, windows.WSAECONNREFUSED) }

// connDropped reports whether err is a connection the peer reset or
// aborted, or a broken pipe.
func connDropped(err error) bool {
	return errors.Is(err, windows.WSAECONNRESET) || errors.Is(err, windows.WSAECONNABORTED) ||
		errors.Is(err, windows.ERROR_BROKEN_PIPE)
}
