package runner

import (
	"time"

	"github.com/drove-dev/drove/jobs"
)

// Attempt is one run of a job on one node.
type Attempt struct {
	Node     string
	Err      error // nil for success
	Start    time.Time
	Duration time.Duration
}

// Failure is a job that failed for good, with every attempt.
type Failure struct {
	Job      jobs.Job
	Attempts []Attempt
	Reason   string // why it was not retried again
}

// NodeFailure is a node that was refused or evicted, and why.
type NodeFailure struct {
	Node string
	Err  error
}

// Report accounts for every job of a run: each one succeeded, failed or was
// never run.
type Report struct {
	Succeeded   int
	Failed      []Failure
	Unrun       []jobs.Job // read but never started
	Unread      bool       // the job stream was not read to its end
	StreamErr   error      // the job stream failed (a *jobs.LineError)
	Interrupted bool
	Refused     []NodeFailure
	Evicted     []NodeFailure // out of the pool at the end: evicted and not readmitted
	Stats       Stats
}

// OK reports whether every job succeeded and nothing was left.
func (r *Report) OK() bool {
	return len(r.Failed) == 0 && len(r.Unrun) == 0 && !r.Unread && r.StreamErr == nil && !r.Interrupted
}
