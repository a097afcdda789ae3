package records

import "golang.org/x/sys/unix"

// signalNumber is the number of a signal named as SSH names it ("TERM"),
// or 0 for a name it does not know. The nodes drove drives are Linux
// machines, and so is this one: Linux's own table answers.
func signalNumber(name string) int {
	return int(unix.SignalNum("SIG" + name))
}
