package runner

import (
	"errors"
	"time"
)

// Local runs commands on this machine, each in a session (and so a process
// group) of its own, under the same wrapper as remote jobs (see
// RemoteCommand): the job's stdin pipe stays open while it runs, and when
// it closes — drove kills the job, or drove itself dies, even by SIGKILL —
// the job and everything it started are killed. No process of drove's
// outlives it on this machine either.
//
// Local needs a POSIX system (a session per job, process-group signals,
// sh). On Windows its Run returns a *NodeError wrapping
// ErrLocalUnsupported without running anything; jobs over SSH need nothing
// POSIX on this machine.
type Local struct {
	// Grace is how long a killed job gets between SIGTERM and SIGKILL.
	Grace time.Duration
}

var _ Host = (*Local)(nil)

// ErrLocalUnsupported is wrapped by Local.Run on systems where this machine
// cannot run jobs (Windows).
var ErrLocalUnsupported = errors.New("runner: this machine cannot run jobs on this operating system")

// Close does nothing: there is no connection.
func (l *Local) Close() error { return nil }
