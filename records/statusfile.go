package records

import (
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/drove-dev/drove/runner"
)

// statusFile keeps the status file: a JSON snapshot of the run (counts,
// nodes, running jobs, ETA) replaced atomically about once a second, and a
// last time when the run ends.
type statusFile struct {
	path  string
	start time.Time

	mu      sync.Mutex
	stats   runner.Stats
	nodes   map[string]string // node -> state
	running map[slotKey]RunningJob
	dirty   bool
	stop    chan struct{}
	done    chan struct{}
}

// RunningJob is a job running in a StatusSnapshot.
type RunningJob struct {
	Node    string    `json:"node"`
	Slot    int       `json:"slot"`
	Seq     int       `json:"seq"`
	Command string    `json:"command"`
	Attempt int       `json:"attempt"`
	Since   time.Time `json:"since"`
}

// StatusSnapshot is the content of the status file.
type StatusSnapshot struct {
	Time       time.Time         `json:"time"`
	StartedAt  time.Time         `json:"started_at"`
	Jobs       JobCounts         `json:"jobs"`
	Slots      int               `json:"slots"`
	Nodes      map[string]string `json:"nodes"`
	Running    []RunningJob      `json:"running"`
	ETASeconds *float64          `json:"eta_s,omitempty"`
	Draining   bool              `json:"draining"`
}

// JobCounts are the job counts of a StatusSnapshot.
type JobCounts struct {
	Total      int  `json:"total"`
	TotalKnown bool `json:"total_known"`
	Succeeded  int  `json:"succeeded"`
	Failed     int  `json:"failed"`
	Running    int  `json:"running"`
}

// openStatusFile writes the first snapshot and starts the ticker that
// writes the next ones.
func openStatusFile(path string) (*statusFile, error) {
	s := &statusFile{path: path, start: time.Now(), nodes: map[string]string{}, running: map[slotKey]RunningJob{},
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.write(true); err != nil {
		return nil, err
	}
	go s.loop()
	return s, nil
}

var nodeStates = map[runner.EventKind]string{
	runner.NodeUp: "up", runner.NodeJoined: "up", runner.NodeReadmitted: "up", runner.NodeRefused: "unreachable",
	runner.NodeEvicted: "evicted", runner.NodeRetired: "retired", runner.NodeLeaving: "leaving", runner.NodeLeft: "left",
	runner.NodeProbeFailed: "evicted",
}

func (s *statusFile) Event(ev runner.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats, s.dirty = ev.Stats, true
	if st, ok := nodeStates[ev.Kind]; ok {
		s.nodes[ev.Node] = st
	}
	k := slotKey{ev.Node, ev.Slot}
	switch ev.Kind {
	case runner.JobStarted:
		s.running[k] = RunningJob{Node: ev.Node, Slot: ev.Slot, Seq: ev.Job.Seq, Command: ev.Job.Cmd, Attempt: ev.Attempt, Since: ev.Time}
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
	snap := StatusSnapshot{Time: now, StartedAt: s.start, Slots: s.stats.Slots, Nodes: map[string]string{}, Draining: s.stats.Draining,
		Jobs: JobCounts{Total: s.stats.Total, TotalKnown: s.stats.TotalKnown, Succeeded: s.stats.Succeeded, Failed: s.stats.Failed, Running: s.stats.Running}}
	for n, st := range s.nodes {
		snap.Nodes[n] = st
	}
	snap.Running = make([]RunningJob, 0, len(s.running))
	for _, r := range s.running {
		snap.Running = append(snap.Running, r)
	}
	if eta, ok := s.stats.ETA(now.Sub(s.start)); ok {
		sec := eta.Seconds()
		snap.ETASeconds = &sec
	}
	s.mu.Unlock()
	slices.SortFunc(snap.Running, func(a, b RunningJob) int { return a.Seq - b.Seq })
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
