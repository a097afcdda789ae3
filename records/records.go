// Package records keeps the records of a run that outlive the terminal: the
// job log (GNU parallel's --joblog format), a results directory with each
// job's output and meta.json, a stream of JSON events, a status snapshot
// file and an active-nodes file.
//
// Each record consumes the runner's events through one interface, Sink. A
// Set opens the records asked for, fans events out to them and closes them;
// the command layer wires Set.Event into runner.Config.Events. Errors name
// the record (a Kind) and its path, never a command-line flag: the command
// layer maps a Kind to the flag that asked for it.
//
// The job log also has its reading here: ReadJobLog and ParseJobLog give
// the summary a resumed run skips jobs by (JobLogSummary.Skipper).
package records

import (
	"fmt"
	"io"
	"os"

	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
)

// Sink consumes a run's events. Event is called from the runner's event
// goroutine, one event at a time, and must not block for long. Close ends
// the record (writing whatever it writes last) and returns the first error
// the record met, if any.
type Sink interface {
	Event(runner.Event)
	Close() error
}

// Kind names a record.
type Kind int

// The records a Set can keep.
const (
	JobLog      Kind = iota // GNU parallel's --joblog format, one line per job finished for good
	Results                 // a directory per job: stdout, stderr, meta.json
	Events                  // one JSON object per line per event
	StatusFile              // a JSON snapshot of the run, replaced atomically
	ActiveNodes             // one "node: command" line per running job, replaced atomically
)

func (k Kind) String() string {
	switch k {
	case JobLog:
		return "job log"
	case Results:
		return "results directory"
	case Events:
		return "event log"
	case StatusFile:
		return "status file"
	case ActiveNodes:
		return "active-nodes file"
	}
	return fmt.Sprintf("record %d", int(k))
}

// Error is a record that could not be opened or written.
type Error struct {
	Record Kind
	Path   string
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("records: %s %s: %v", e.Record, e.Path, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Options says which records to keep: an empty path keeps none of that kind.
type Options struct {
	JobLog      string
	Results     string
	Events      string // "-" writes to Stdout
	StatusFile  string
	ActiveNodes string
	Stdout      io.Writer // for Events "-"
	// LocalNode is the name this machine's node runs under: the job log
	// writes it ":", as GNU parallel does for local jobs.
	LocalNode string
}

// Set is the records of one run.
type Set struct {
	sinks   []kept
	results *resultsDir
}

type kept struct {
	kind Kind
	path string
	Sink
}

// Open opens every record o asks for, or none: on an error the records
// already opened are closed again.
func Open(o Options) (*Set, error) {
	s := &Set{}
	for _, r := range []struct {
		kind Kind
		path string
		open func() (Sink, error)
	}{
		{ActiveNodes, o.ActiveNodes, func() (Sink, error) { return newActiveFile(o.ActiveNodes) }},
		{JobLog, o.JobLog, func() (Sink, error) { return openJobLog(o.JobLog, o.LocalNode) }},
		{Results, o.Results, func() (Sink, error) {
			r, err := newResultsDir(o.Results)
			s.results = r
			return r, err
		}},
		{Events, o.Events, func() (Sink, error) { return openEventLog(o.Events, o.Stdout) }},
		{StatusFile, o.StatusFile, func() (Sink, error) { return openStatusFile(o.StatusFile) }},
	} {
		if r.path == "" {
			continue
		}
		sink, err := r.open()
		if err != nil {
			s.Close()
			return nil, &Error{Record: r.kind, Path: r.path, Err: err}
		}
		s.sinks = append(s.sinks, kept{r.kind, r.path, sink})
	}
	return s, nil
}

// Event hands ev to every record.
func (s *Set) Event(ev runner.Event) {
	for _, k := range s.sinks {
		k.Event(ev)
	}
}

// JobOutput is runner.Config.JobOutput for the results directory, or nil
// when none is kept.
func (s *Set) JobOutput() func(j jobs.Job, attempt int, node string) (stdout, stderr io.Writer, done func(error)) {
	if s.results == nil {
		return nil
	}
	return s.results.output
}

// Close closes every record and returns one *Error per record that failed.
func (s *Set) Close() []error {
	var errs []error
	for _, k := range s.sinks {
		if err := k.Close(); err != nil {
			errs = append(errs, &Error{Record: k.kind, Path: k.path, Err: err})
		}
	}
	s.sinks = nil
	return errs
}

// openFile creates path for writing, or returns w for "-".
func openFile(path string, w io.Writer) (io.Writer, func() error, error) {
	if path == "-" {
		return w, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}
