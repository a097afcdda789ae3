package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
)

// exitFields turns an attempt's error into GNU parallel's Exitval and
// Signal columns.
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
		return -1, int(syscall.SIGTERM)
	}
	return -1, 0
}

// signalNumber is the number of a signal named as SSH names it ("TERM").
func signalNumber(name string) int {
	switch name {
	case "HUP":
		return 1
	case "INT":
		return 2
	case "QUIT":
		return 3
	case "ILL":
		return 4
	case "ABRT":
		return 6
	case "FPE":
		return 8
	case "KILL":
		return 9
	case "USR1":
		return 10
	case "SEGV":
		return 11
	case "USR2":
		return 12
	case "PIPE":
		return 13
	case "ALRM":
		return 14
	case "TERM":
		return 15
	}
	return 0
}

// jobLogger writes --joblog: one line per job that has finished for good
// (succeeded, or failed and not requeued). Attempts that are requeued, and
// jobs killed by an interrupt, are not logged, so --resume runs them again.
type jobLogger struct {
	log *jobs.JobLog
	err error
}

func (l *jobLogger) event(ev runner.Event) {
	final := ev.Kind == runner.JobSucceeded || (ev.Kind == runner.JobFailed && !ev.Requeued && !isKilled(ev.Err))
	if !final || l.err != nil {
		return
	}
	exit, sig := exitFields(ev.Err)
	l.err = l.log.Record(jobs.Entry{
		Seq: ev.Job.Seq, Host: ev.Node, Start: ev.Time.Add(-ev.Duration), Runtime: ev.Duration,
		Receive: ev.Stdout, Exitval: exit, Signal: sig, Command: ev.Job.Cmd,
	})
}

func isKilled(err error) bool { return errors.Is(err, runner.ErrKilled) }

// resultsDir writes --results: for each job a directory DIR/NNNNNN-slug
// (its sequence number and the start of its command) holding stdout,
// stderr (of the last attempt) and meta.json (node, exit status, times of
// every attempt).
type resultsDir struct {
	dir string
	mu  sync.Mutex
	// attempts of jobs still in flight, by sequence number
	attempts map[int][]attemptMeta
	err      error
}

type attemptMeta struct {
	Node       string    `json:"node"`
	Start      time.Time `json:"start"`
	DurationS  float64   `json:"duration_s"`
	ExitStatus int       `json:"exit_status"`
	Signal     int       `json:"signal,omitempty"`
	Error      string    `json:"error,omitempty"`
}

type jobMeta struct {
	Seq      int           `json:"seq"`
	Command  string        `json:"command"`
	Origin   string        `json:"origin"`
	Attempts []attemptMeta `json:"attempts"`
}

func newResultsDir(dir string) (*resultsDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &resultsDir{dir: dir, attempts: map[int][]attemptMeta{}}, nil
}

// jobDir is the directory of one job: "000042-echo_hello".
func (r *resultsDir) jobDir(j jobs.Job) string {
	var b strings.Builder
	for _, c := range j.Cmd {
		if b.Len() >= 40 {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-':
			b.WriteRune(c)
		default:
			if s := b.String(); s != "" && s[len(s)-1] != '_' {
				b.WriteByte('_')
			}
		}
	}
	return filepath.Join(r.dir, fmt.Sprintf("%06d-%s", j.Seq, strings.Trim(b.String(), "_")))
}

// output is runner.Config.JobOutput.
func (r *resultsDir) output(j jobs.Job, attempt int, node string) (io.Writer, io.Writer, func(error)) {
	dir := r.jobDir(j)
	start := time.Now()
	so, se, err := r.open(dir)
	if err != nil {
		r.fail(err)
		return nil, nil, nil
	}
	return so, se, func(runErr error) {
		so.Close()
		se.Close()
		exit, sig := exitFields(runErr)
		m := attemptMeta{Node: node, Start: start, DurationS: time.Since(start).Seconds(), ExitStatus: exit, Signal: sig}
		if runErr != nil {
			m.Error = runErr.Error()
		}
		r.mu.Lock()
		r.attempts[j.Seq] = append(r.attempts[j.Seq], m)
		meta := jobMeta{Seq: j.Seq, Command: j.Cmd, Origin: j.Origin, Attempts: append([]attemptMeta(nil), r.attempts[j.Seq]...)}
		r.mu.Unlock()
		b, _ := json.MarshalIndent(meta, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, "meta.json"), append(b, '\n'), 0o644); err != nil {
			r.fail(err)
		}
	}
}

func (r *resultsDir) open(dir string) (*os.File, *os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	so, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		return nil, nil, err
	}
	se, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		so.Close()
		return nil, nil, err
	}
	return so, se, nil
}

// event forgets the attempts of jobs that are done for good.
func (r *resultsDir) event(ev runner.Event) {
	if ev.Kind == runner.JobSucceeded || (ev.Kind == runner.JobFailed && !ev.Requeued) {
		r.mu.Lock()
		delete(r.attempts, ev.Job.Seq)
		r.mu.Unlock()
	}
}

func (r *resultsDir) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}
