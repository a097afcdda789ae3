package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/drove-dev/drove/runner"
)

// eventNames are the "event" values of --events lines.
var eventNames = map[runner.EventKind]string{
	runner.NodeUp: "node_up", runner.NodeRefused: "node_refused", runner.NodeEvicted: "node_evicted",
	runner.NodeRetired: "node_retired", runner.NodeJoined: "node_joined", runner.NodeLeaving: "node_leaving",
	runner.NodeLeft: "node_left", runner.NodeReadmitted: "node_readmitted", runner.NodeProbeFailed: "node_probe_failed",
	runner.JobStarted: "job_started", runner.JobSucceeded: "job_finished", runner.JobFailed: "job_finished",
	runner.Draining: "draining", runner.StreamEnd: "stream_end",
}

// jsonEvent is one line of --events.
type jsonEvent struct {
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
	Error       string    `json:"error,omitempty"`
}

// eventLog writes --events: one JSON object per line and per event, for
// other programs to read as the run goes.
type eventLog struct {
	w   io.Writer
	enc *json.Encoder
	err error
}

func newEventLog(w io.Writer) *eventLog { return &eventLog{w: w, enc: json.NewEncoder(w)} }

func (l *eventLog) event(ev runner.Event) {
	name, ok := eventNames[ev.Kind]
	if !ok || l.err != nil {
		return
	}
	je := jsonEvent{Time: ev.Time, Event: name, Node: ev.Node}
	if ev.Kind >= runner.JobStarted && ev.Kind <= runner.JobFailed {
		je.Seq, je.Command, je.Attempt = ev.Job.Seq, ev.Job.Cmd, ev.Attempt
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
		je.Error = reason(ev.Node, ev.Err)
	}
	l.err = l.enc.Encode(je)
}

// statusFile keeps --status-file: a JSON snapshot of the run (counts,
// nodes, running jobs, ETA) replaced atomically about once a second, and a
// last time when the run ends.
type statusFile struct {
	path  string
	start time.Time

	mu      sync.Mutex
	stats   runner.Stats
	nodes   map[string]string // node -> state
	running map[slotKey]runningJob
	dirty   bool
	stop    chan struct{}
	done    chan struct{}
}

type runningJob struct {
	Node    string    `json:"node"`
	Slot    int       `json:"slot"`
	Seq     int       `json:"seq"`
	Command string    `json:"command"`
	Attempt int       `json:"attempt"`
	Since   time.Time `json:"since"`
}

type statusSnapshot struct {
	Time       time.Time         `json:"time"`
	StartedAt  time.Time         `json:"started_at"`
	Jobs       jobCounts         `json:"jobs"`
	Slots      int               `json:"slots"`
	Nodes      map[string]string `json:"nodes"`
	Running    []runningJob      `json:"running"`
	ETASeconds *float64          `json:"eta_s,omitempty"`
	Draining   bool              `json:"draining"`
}

type jobCounts struct {
	Total      int  `json:"total"`
	TotalKnown bool `json:"total_known"`
	Succeeded  int  `json:"succeeded"`
	Failed     int  `json:"failed"`
	Running    int  `json:"running"`
}

func newStatusFile(path string) *statusFile {
	s := &statusFile{path: path, start: time.Now(), nodes: map[string]string{}, running: map[slotKey]runningJob{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

var nodeStates = map[runner.EventKind]string{
	runner.NodeUp: "up", runner.NodeJoined: "up", runner.NodeReadmitted: "up", runner.NodeRefused: "unreachable",
	runner.NodeEvicted: "evicted", runner.NodeRetired: "retired", runner.NodeLeaving: "leaving", runner.NodeLeft: "left",
	runner.NodeProbeFailed: "evicted",
}

func (s *statusFile) event(ev runner.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats, s.dirty = ev.Stats, true
	if st, ok := nodeStates[ev.Kind]; ok {
		s.nodes[ev.Node] = st
	}
	k := slotKey{ev.Node, ev.Slot}
	switch ev.Kind {
	case runner.JobStarted:
		s.running[k] = runningJob{Node: ev.Node, Slot: ev.Slot, Seq: ev.Job.Seq, Command: ev.Job.Cmd, Attempt: ev.Attempt, Since: ev.Time}
	case runner.JobSucceeded, runner.JobFailed:
		delete(s.running, k)
	}
}

func (s *statusFile) loop() {
	defer close(s.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.write(false)
		case <-s.stop:
			return
		}
	}
}

func (s *statusFile) write(force bool) error {
	s.mu.Lock()
	if !s.dirty && !force {
		s.mu.Unlock()
		return nil
	}
	s.dirty = false
	now := time.Now()
	snap := statusSnapshot{Time: now, StartedAt: s.start, Slots: s.stats.Slots, Nodes: map[string]string{}, Draining: s.stats.Draining,
		Jobs: jobCounts{Total: s.stats.Total, TotalKnown: s.stats.TotalKnown, Succeeded: s.stats.Succeeded, Failed: s.stats.Failed, Running: s.stats.Running}}
	for n, st := range s.nodes {
		snap.Nodes[n] = st
	}
	snap.Running = make([]runningJob, 0, len(s.running))
	for _, r := range s.running {
		snap.Running = append(snap.Running, r)
	}
	if eta, ok := estimate(s.start, now, s.stats); ok {
		sec := eta.Seconds()
		snap.ETASeconds = &sec
	}
	s.mu.Unlock()
	slices.SortFunc(snap.Running, func(a, b runningJob) int { return a.Seq - b.Seq })
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.path, append(b, '\n'))
}

// Close stops the ticker and writes the final snapshot.
func (s *statusFile) Close() error {
	close(s.stop)
	<-s.done
	return s.write(true)
}

// writeAtomic replaces path with b: a temporary file in the same directory,
// then a rename, so readers see the old or the new content, never a mix.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// estimate is the time left, from the average rate so far, once at least
// three jobs and two seconds have gone by. While the job stream is open it
// is the time left for the jobs known so far.
func estimate(start, now time.Time, s runner.Stats) (time.Duration, bool) {
	done := s.Done()
	elapsed := now.Sub(start)
	if done < 3 || elapsed < 2*time.Second || s.Total <= done {
		return 0, false
	}
	per := elapsed / time.Duration(done)
	return per * time.Duration(s.Total-done), true
}
