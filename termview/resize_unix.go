//go:build unix

package termview

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyResize sends on c when the terminal is resized (SIGWINCH).
func notifyResize(c chan os.Signal) { signal.Notify(c, syscall.SIGWINCH) }
