package records

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// feed plays a small run into s: job 1 succeeds on a, job 2 fails on a
// (requeued, a evicted) then is killed by TERM on b for good, job 3 is
// still running on b when the run ends.
func feed(s *Set) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	j1 := jobs.Job{Seq: 1, Cmd: "echo one", Origin: "--job"}
	j2 := jobs.Job{Seq: 2, Cmd: "exit 3", Origin: "--job"}
	j3 := jobs.Job{Seq: 3, Cmd: "sleep\n9", Origin: "--job"}
	for _, ev := range []runner.Event{
		{Kind: runner.NodeUp, Node: "a"},
		{Kind: runner.NodeUp, Node: "b"},
		{Kind: runner.JobStarted, Node: "a", Job: j1, Attempt: 1},
		{Kind: runner.JobSucceeded, Node: "a", Job: j1, Attempt: 1, Duration: time.Second, Stdout: 4},
		{Kind: runner.JobStarted, Node: "a", Job: j2, Attempt: 1},
		{Kind: runner.JobFailed, Node: "a", Job: j2, Attempt: 1, Err: &runner.ExitError{Status: 3}, Requeued: true, Evicted: true},
		{Kind: runner.NodeEvicted, Node: "a", Job: j2, Err: &runner.ExitError{Status: 3}},
		{Kind: runner.JobStarted, Node: "b", Slot: 1, Job: j3, Attempt: 1},
		{Kind: runner.JobStarted, Node: "b", Job: j2, Attempt: 2},
		{Kind: runner.JobFailed, Node: "b", Job: j2, Attempt: 2, Err: &runner.ExitError{Status: 143, Signal: "TERM"}},
	} {
		ev.Time = t0
		t0 = t0.Add(time.Second)
		s.Event(ev)
	}
}

func TestSetKeepsEveryRecord(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	s, err := Open(Options{JobLog: path("joblog"), Results: path("results"), Events: path("events"),
		StatusFile: path("status"), ActiveNodes: path("active")})
	require.NoError(t, err)
	feed(s)
	// While the run goes on, the active-nodes file lists job 3 (the
	// writer is asynchronous: wait until it has caught up, by content).
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(path("active"))
		return string(b) == "b: sleep 9\n"
	}, 5*time.Second, 10*time.Millisecond)
	require.Empty(t, s.Close())

	// The job log holds the two jobs that finished for good, not the
	// requeued attempt, and reads back as such.
	out, err := ReadJobLog(path("joblog"))
	require.NoError(t, err)
	for cmd, want := range map[string][2]int{"echo one": {1, 1}, "exit 3": {1, 0}, "sleep\n9": {0, 0}} {
		finished, succeeded := out.Finished(cmd)
		require.Equal(t, want, [2]int{finished, succeeded}, cmd)
	}
	log, _ := os.ReadFile(path("joblog"))
	lines := strings.Split(strings.TrimSuffix(string(log), "\n"), "\n")
	require.Len(t, lines, 3)
	f := strings.Split(lines[2], "\t")
	require.Equal(t, []string{"2", "b"}, f[:2])
	require.Equal(t, []string{"0", "15", "exit 3"}, f[6:]) // Exitval (0 after a signal, as GNU parallel), Signal (TERM), Command

	// One event line per event, in order, with the job's fields.
	ef, err := os.Open(path("events"))
	require.NoError(t, err)
	defer ef.Close()
	var kinds []string
	sc := bufio.NewScanner(ef)
	for sc.Scan() {
		var e EventLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		kinds = append(kinds, e.Event)
		if e.Event == "node_evicted" {
			require.Equal(t, 2, e.Seq, "node_evicted names the job that evicted the node")
			require.Equal(t, "exit 3", e.Command)
		}
		if e.Event == "job_finished" && e.Seq == 2 && !e.Requeued {
			require.Equal(t, "TERM", e.Signal)
			require.Equal(t, "was killed by signal TERM", e.Error)
		}
	}
	require.Equal(t, []string{"node_up", "node_up", "job_started", "job_finished", "job_started", "job_finished",
		"node_evicted", "job_started", "job_started", "job_finished"}, kinds)

	// The last snapshot: node states, and job 3 still running.
	var snap StatusSnapshot
	b, err := os.ReadFile(path("status"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &snap))
	require.Equal(t, map[string]string{"a": "evicted", "b": "up"}, snap.Nodes)
	require.Len(t, snap.Running, 1)
	require.Equal(t, 3, snap.Running[0].Seq)

	// At the end the active-nodes file is empty.
	b, err = os.ReadFile(path("active"))
	require.NoError(t, err)
	require.Empty(t, b)
}

func TestOpenErrorNamesTheRecord(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	for _, c := range []struct {
		o    Options
		kind Kind
	}{
		{Options{JobLog: filepath.Join(blocker, "log")}, JobLog},
		{Options{Results: filepath.Join(blocker, "dir")}, Results},
		{Options{Events: filepath.Join(blocker, "ev")}, Events},
		{Options{StatusFile: filepath.Join(blocker, "st")}, StatusFile},
		{Options{ActiveNodes: filepath.Join(blocker, "an")}, ActiveNodes},
	} {
		_, err := Open(c.o)
		var re *Error
		require.True(t, errors.As(err, &re), "%v", err)
		require.Equal(t, c.kind, re.Record)
		require.NotContains(t, err.Error(), "--", "a library message names no flag")
	}
}

func TestEventsToStdout(t *testing.T) {
	var buf bytes.Buffer
	s, err := Open(Options{Events: "-", Stdout: &buf})
	require.NoError(t, err)
	s.Event(runner.Event{Kind: runner.Draining})
	require.Empty(t, s.Close())
	require.Contains(t, buf.String(), `"event":"draining"`)
}
