package nodes

import (
	"os"
	"syscall"
)

// proxyWatch does nothing on Windows: there are no process groups to
// watch, and a command whose drove died sees its stdin close.
type proxyWatch struct{}

func startProxyWatch() (*proxyWatch, error) { return &proxyWatch{}, nil }

func proxySysProcAttr(*proxyWatch) *syscall.SysProcAttr { return nil }

// hangUp: Windows has no hang-up signal; the command sees its stdin close.
func (*proxyWatch) hangUp() {}

// kill kills the command (its own children are not reached).
func (*proxyWatch) kill(p *os.Process) { _ = p.Kill() }

func (*proxyWatch) stop() {}
