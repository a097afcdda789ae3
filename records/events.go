package records

import (
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/drove-dev/drove/runner"
)

// eventNames are the "event" values of --events lines.
var eventNames = map[runner.EventKind]string{
	runner.NodeUp: "node_up", runner.NodeRefused: "node_refused", runner.NodeEvicted: "node_evicted",
	runner.NodeRetired: "node_retired", runner.NodeJoined: "node_joined", runner.NodeLeaving: "node_leaving", runner.NodeResized: "node_resized",
	runner.NodeLeft: "node_left", runner.NodeReadmitted: "node_readmitted", runner.NodeProbeFailed: "node_probe_failed",
	runner.JobStarted: "job_started", runner.JobSucceeded: "job_finished", runner.JobFailed: "job_finished",
	runner.Draining: "draining", runner.StreamEnd: "stream_end",
	runner.JobAbandoned: "job_failed", runner.JobNeverRan: "job_never_ran",
}

// EventLine is one line of the event log.
type EventLine struct {
	Time        time.Time `json:"time"`
	Event       string    `json:"event"`
	Node        string    `json:"node,omitempty"`
	Seq         int       `json:"seq,omitempty"`
	Command     string    `json:"command,omitempty"`
	Attempt     int       `json:"attempt,omitempty"`
	OK          *bool     `json:"ok,omitempty"`
	ExitStatus  *int      `json:"exit_status,omitempty"`
	Signal      string    `json:"signal,omitempty"`
	DurationS   *float64  `json:"duration_s,omitempty"`
	StdoutBytes *int64    `json:"stdout_bytes,omitempty"`
	Requeued    bool      `json:"requeued,omitempty"`
	Reason      string    `json:"reason,omitempty"` // why a job will not run again (job_failed, job_never_ran, a final job_finished)
	Error       string    `json:"error,omitempty"`
}

// eventLog writes one JSON object per line and per event, for other
// programs to read as the run goes.
type eventLog struct {
	enc   *json.Encoder
	close func() error
	err   error
}

// openEventLog creates path, or writes to stdout for "-".
func openEventLog(path string, stdout io.Writer) (*eventLog, error) {
	w, closeFn, err := openFile(path, stdout)
	if err != nil {
		return nil, err
	}
	return &eventLog{enc: json.NewEncoder(w), close: closeFn}, nil
}

// Close closes the file and returns the first write error.
func (l *eventLog) Close() error {
	err := l.close()
	if l.err != nil {
		return l.err
	}
	return err
}

func (l *eventLog) Event(ev runner.Event) {
	name, ok := eventNames[ev.Kind]
	if !ok || l.err != nil {
		return
	}
	je := EventLine{Time: ev.Time, Event: name, Node: ev.Node}
	switch {
	case ev.Kind >= runner.JobStarted && ev.Kind <= runner.JobFailed, ev.Kind == runner.JobAbandoned:
		je.Seq, je.Command, je.Attempt = ev.Job.Seq, ev.Job.Cmd, ev.Attempt
	case ev.Kind == runner.JobNeverRan:
		je.Seq, je.Command = ev.Job.Seq, ev.Job.Cmd
	case (ev.Kind == runner.NodeEvicted || ev.Kind == runner.NodeReadmitted) && ev.Job.Seq != 0:
		// The job whose failure evicted the node, or which was found at
		// fault and so readmits it.
		je.Seq, je.Command = ev.Job.Seq, ev.Job.Cmd
	}
	if ev.Kind == runner.JobSucceeded || ev.Kind == runner.JobFailed {
		success := ev.Err == nil
		exit, _ := exitFields(ev.Err)
		d := ev.Duration.Seconds()
		out := ev.Stdout
		je.OK, je.ExitStatus, je.DurationS, je.StdoutBytes, je.Requeued = &success, &exit, &d, &out, ev.Requeued
		var ee *runner.ExitError
		if errors.As(ev.Err, &ee) {
			je.Signal = ee.Signal
		}
	}
	if ev.Err != nil {
		je.Error = runner.Describe(ev.Node, ev.Err)
	}
	je.Reason = ev.Reason
	l.err = l.enc.Encode(je)
}
