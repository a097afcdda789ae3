//go:build !linux

package records

// signalNumber is the number of a signal named as SSH names it ("TERM"),
// or 0 for a name it does not know. This controller's own numbers may not
// be the nodes' (macOS numbers USR1 30, Linux 10), so only the signals
// that POSIX fixes for every system are numbered.
func signalNumber(name string) int {
	switch name {
	case "HUP":
		return 1
	case "INT":
		return 2
	case "QUIT":
		return 3
	case "ABRT":
		return 6
	case "KILL":
		return 9
	case "ALRM":
		return 14
	case "TERM":
		return 15
	}
	return 0
}
