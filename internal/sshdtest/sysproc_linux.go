package sshdtest

import "syscall"

// procfs says this system has the Linux /proc the package reads.
const procfs = true

// sysProcAttr makes sshd die with the test binary, even if the binary dies
// without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
