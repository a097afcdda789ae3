//go:build unix

package records

import (
	"os"
	"syscall"
)

// withLock runs fn holding an exclusive flock on f, so that processes
// sharing a job log do not interleave a repair, a header or a line.
func withLock(f *os.File, fn func() error) error {
	fd := int(f.Fd())
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX)
		if err == nil {
			break
		}
		if err != syscall.EINTR {
			return err
		}
	}
	defer syscall.Flock(fd, syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks too
	return fn()
}
