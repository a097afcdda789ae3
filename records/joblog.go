package records

import (
	"errors"

	"github.com/drove-dev/drove/runner"
)

// jobLogger writes the job log: one line per job that has finished for
// good (succeeded; failed and not requeued; or requeued and then
// abandoned, with its last attempt's node, times and status). Attempts
// that are requeued, jobs killed by an interrupt and jobs that never ran
// are not logged, so a resumed run runs them again.
type jobLogger struct {
	log   *JobLogFile
	local string // the local node's name, logged as ":"
	err   error
}

func openJobLog(path, local string) (*jobLogger, error) {
	log, err := OpenJobLog(path)
	if err != nil {
		return nil, err
	}
	return &jobLogger{log: log, local: local}, nil
}

func (l *jobLogger) Event(ev runner.Event) {
	final := ev.Kind == runner.JobSucceeded || ev.Kind == runner.JobAbandoned ||
		(ev.Kind == runner.JobFailed && !ev.Requeued && !errors.Is(ev.Err, runner.ErrKilled))
	if !final || l.err != nil {
		return
	}
	exit, sig := exitFields(ev.Err)
	var ee *runner.ExitError
	if errors.As(ev.Err, &ee) && ee.Signal != "" {
		exit = 0 // GNU parallel logs $? >> 8, which is 0 after a signal (a timeout stays -1)
	}
	host := ev.Node
	if host == l.local {
		host = ":"
	}
	l.err = l.log.Record(JobLogEntry{
		Seq: ev.Job.Seq, Host: host, Start: ev.Start, Runtime: ev.Duration,
		Receive: ev.Stdout, Exitval: exit, Signal: sig, Command: ev.Job.Cmd,
	})
}

func (l *jobLogger) Close() error {
	err := l.log.Close()
	if l.err != nil {
		return l.err
	}
	return err
}
