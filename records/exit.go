package records

import (
	"errors"

	"github.com/drove-dev/drove/runner"
)

// exitFields turns an attempt's error into GNU parallel's Exitval and
// Signal columns: 0 0 for success, the status and 0 for an exit, the status
// and the signal's number for a job killed by a signal, -1 and TERM's
// number for a timeout, and -1 0 for anything else (the node failed).
func exitFields(err error) (exit, sig int) {
	var ee *runner.ExitError
	var te *runner.TimeoutError
	switch {
	case err == nil:
		return 0, 0
	case errors.As(err, &ee):
		if ee.Signal != "" {
			return ee.Status, signalNumber(ee.Signal)
		}
		return ee.Status, 0
	case errors.As(err, &te):
		return -1, signalNumber("TERM")
	}
	return -1, 0
}
