package records

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
)

// resultsDir keeps the results directory: for each job a directory DIR/NNNNNN-slug
// (its sequence number and the start of its command) holding stdout,
// stderr (of the last attempt) and meta.json (node, exit status, times of
// every attempt).
type resultsDir struct {
	dir string
	mu  sync.Mutex
	// attempts of jobs still in flight, by sequence number
	attempts map[int][]AttemptMeta
	err      error
}

// AttemptMeta is one attempt of a job in meta.json.
type AttemptMeta struct {
	Node       string    `json:"node"`
	Start      time.Time `json:"start"`
	DurationS  float64   `json:"duration_s"`
	ExitStatus int       `json:"exit_status"`
	Signal     int       `json:"signal,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// JobMeta is the content of a job's meta.json.
type JobMeta struct {
	Seq      int           `json:"seq"`
	Command  string        `json:"command"`
	Origin   string        `json:"origin"`
	Attempts []AttemptMeta `json:"attempts"`
}

func newResultsDir(dir string) (*resultsDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &resultsDir{dir: dir, attempts: map[int][]AttemptMeta{}}, nil
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
		m := AttemptMeta{Node: node, Start: start, DurationS: time.Since(start).Seconds(), ExitStatus: exit, Signal: sig}
		if runErr != nil {
			m.Error = runErr.Error()
		}
		r.mu.Lock()
		r.attempts[j.Seq] = append(r.attempts[j.Seq], m)
		meta := JobMeta{Seq: j.Seq, Command: j.Cmd, Origin: j.Origin, Attempts: append([]AttemptMeta(nil), r.attempts[j.Seq]...)}
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

// Event forgets the attempts of jobs that are done for good.
func (r *resultsDir) Event(ev runner.Event) {
	if ev.Kind == runner.JobSucceeded || ev.Kind == runner.JobAbandoned || (ev.Kind == runner.JobFailed && !ev.Requeued) {
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

// Close returns the first error met writing a job's files.
func (r *resultsDir) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
