package main

import (
	"errors"

	"github.com/drove-dev/drove/runner"
)

// Statuses -S/--max-exit gives to what did not end with an exit status of
// its own.
const (
	maxExitUnreachable = 255 // the node could not be reached, or was lost (pdsh, ssh)
	maxExitTimeout     = 124 // --timeout killed the job (timeout(1))
)

// maxExitStatus is the status -S/--max-exit makes drove exit with, as pdsh
// -S does: the largest final status of the jobs. A job that failed for good
// counts its last attempt's status (128+n for a signal; 124 for --timeout;
// 255 when its node was lost or the status is unknown); a job that never
// ran, or a stream left unread, counts 255 (no node could run it); under
// --on-each-node a node that could not be reached counts 255. Jobs that
// succeeded count 0.
func maxExitStatus(rep *runner.Report, eachNode bool) int {
	status := 0
	for _, f := range rep.Failed {
		st := maxExitUnreachable
		if n := len(f.Attempts); n > 0 {
			st = attemptStatus(f.Attempts[n-1].Err)
		}
		status = max(status, st)
	}
	if len(rep.Unrun) > 0 || rep.Unread || (eachNode && len(rep.Refused) > 0) {
		status = maxExitUnreachable
	}
	return status
}

// attemptStatus is the exit status an attempt's error stands for.
func attemptStatus(err error) int {
	var ee *runner.ExitError
	var te *runner.TimeoutError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.Status >= 0 && ee.Status <= 255:
		return ee.Status
	case errors.As(err, &te):
		return maxExitTimeout
	}
	return maxExitUnreachable
}
