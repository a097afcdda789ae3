package runner

import (
	"time"

	"github.com/drove-dev/drove/jobs"
)

// EventKind says what happened.
type EventKind int

// The events a run reports, in the order they can happen to a node or job.
const (
	NodeUp          EventKind = iota // a node connected and its slots joined the pool
	NodeRefused                      // a node could not be reached or authenticated (Err)
	NodeEvicted                      // a node left the pool (Err says why; Job is the job that failed there, if any)
	NodeRetired                      // a node ran --max-node-uses jobs and takes no more
	NodeJoined                       // a node added to the node list connected and joined the pool
	NodeLeaving                      // a node was removed from the node list: it finishes its jobs and takes no more
	NodeLeft                         // a node removed from the node list finished its jobs and left
	NodeReadmitted                   // an evicted node is back in the pool: it passed its probe, or Job (with Reason) was found at fault, or (Reason, no Job) it came back on trust (see blame.go)
	NodeProbeFailed                  // an evicted node failed its readmission probe (Err)
	JobStarted                       // a job attempt started on Node
	JobSucceeded                     // a job attempt exited 0
	JobFailed                        // a job attempt failed (Err); Requeued says whether it will run again
	Draining                         // the run was asked to stop starting jobs
	StreamEnd                        // the job stream was read to its end (Stats.TotalKnown is now true)
	JobAbandoned                     // a requeued job will not run again, failed for good (Reason; Node, Err, Attempt of its last attempt)
	JobNeverRan                      // a job read from the stream never started (Reason)
	NodeResized                      // a re-read node list changed a node's slot count to Slot (Reason says from what)
)

// Every job read from the stream ends with exactly one final event, the
// one a job log records:
//
//   - JobSucceeded: an attempt exited 0;
//   - JobFailed with Requeued false: the attempt failed and the job with
//     it, for good (Reason says why; Err is ErrKilled for an attempt killed
//     by an interrupt, which a job log may leave out so that a resumed run
//     runs it again);
//   - JobAbandoned: the job's last attempt failed with Requeued true, and
//     then it could not run again: no node it had not failed on was left,
//     or the run stopped first. It failed for good;
//   - JobNeverRan: it never started (no node was left, or the run was
//     interrupted and the stream read to its end).
//
// A JobFailed with Requeued true is followed, for the same job (same
// Job.Seq), by a JobStarted or by JobAbandoned; no job starts again after
// JobSucceeded. Jobs of a stream left unread (Report.Unread) have no event.
// Under EachNode, a node that was refused has NodeRefused and no job event.

// Event is one thing that happened in a run. Events are delivered one at a
// time, in order, from the goroutine that owns the run's state, so a handler
// must be quick and must not call back into the run.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Node     string        // the node's name, for node and job events
	Slot     int           // which of the node's slots, for job events (0-based); for NodeResized, the new slot count
	Job      jobs.Job      // for job events
	Attempt  int           // 1 for a job's first run, 2 for its first retry...
	Err      error         // *ExitError, *NodeError, *TimeoutError or a dial error
	Requeued bool          // JobFailed: the job goes back to the queue
	Reason   string        // JobFailed (final), JobAbandoned, JobNeverRan: why it will not run again
	Evicted  bool          // JobFailed: this failure evicted the node (a NodeEvicted event follows)
	Start    time.Time     // JobSucceeded, JobFailed, JobAbandoned: when the (last) attempt started
	Duration time.Duration // JobSucceeded, JobFailed, JobAbandoned: how long the (last) attempt ran
	Stdout   int64         // bytes the attempt wrote to stdout
	Stats    Stats         // the run's counts after this event
}

// Stats are a run's counts, as clstr's status line shows them.
type Stats struct {
	Succeeded  int  // jobs that finished with status 0
	Failed     int  // jobs that failed for good
	Total      int  // jobs read so far
	TotalKnown bool // the job stream has ended, so Total is final
	Running    int  // slots running a job
	Slots      int  // slots of nodes in the pool (connected, not evicted or retired)
	Nodes      int  // nodes in the pool
	Pending    int  // nodes still connecting
	Draining   bool // no new jobs are being started
}

// Done is the number of jobs that will not run again.
func (s Stats) Done() int { return s.Succeeded + s.Failed }
