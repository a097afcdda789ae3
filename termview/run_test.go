package termview

import (
	"bytes"
	"strings"
	"testing"

	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// After a second interrupt the runner kills what was running: the final
// line must not promise to wait for jobs that no longer run, nor count the
// killed jobs as complete, and a killed job is not "failed for good"
// (--resume reruns it). Issue 21.9, 20.9.
func TestRunFinishAfterKill(t *testing.T) {
	var out, errb bytes.Buffer
	scr := NewScreen(&out, &errb, true)
	u := NewRun(scr, true, 0)
	killed := jobs.Job{Seq: 3, Cmd: "sleep 100", Origin: "jobs.txt:3"}
	stats := runner.Stats{Succeeded: 2, Failed: 1, Total: 3, TotalKnown: true, Slots: 2, Nodes: 2, Draining: true}
	u.Event(runner.Event{Kind: runner.JobFailed, Node: "n1", Job: killed, Attempt: 1, Err: runner.ErrKilled, Stats: stats})
	u.Finish(&runner.Report{
		Succeeded:   2,
		Failed:      []runner.Failure{{Job: killed, Attempts: []runner.Attempt{{Node: "n1", Err: runner.ErrKilled}}, Reason: "the run was interrupted"}},
		Interrupted: true,
		Stats:       stats,
	})
	got := errb.String()
	require.NotContains(t, got, "waiting for 0 running", got)
	require.NotContains(t, got, "Ctrl-C again", got)
	require.NotContains(t, got, "failed for good", got)
	require.Contains(t, got, "runs it again", got)
	var final string
	for _, l := range strings.Split(got, "\n") {
		if strings.Contains(l, "jobs complete") {
			final = l
		}
	}
	require.True(t, strings.HasPrefix(final, "2 of 3 jobs complete") && strings.Contains(final, "1 killed"), "final status line: %q", final)
}

// A long job is quoted once per message, cut to about 100 characters with
// its sequence number, never whole: an 80 KB job failing on two nodes costs
// a few lines, not 320 KB (issue 21.7).
func TestRunQuotesALongJobShort(t *testing.T) {
	var out, errb bytes.Buffer
	u := NewRun(NewScreen(&out, &errb, false), false, 0)
	job := jobs.Job{Seq: 7, Cmd: "false " + strings.Repeat("é\x1b", 40<<10), Origin: "jobs.txt:7"}
	fail := &runner.ExitError{Status: 1}
	u.Event(runner.Event{Kind: runner.JobFailed, Node: "n1", Job: job, Err: fail, Evicted: true, Requeued: true})
	u.Event(runner.Event{Kind: runner.JobFailed, Node: "n2", Job: job, Err: fail, Evicted: true})
	u.Event(runner.Event{Kind: runner.NodeReadmitted, Node: "n1", Job: job, Reason: "failed on 2 nodes, the job is at fault"})
	u.Finish(&runner.Report{Failed: []runner.Failure{{Job: job, Attempts: []runner.Attempt{{Node: "n1", Err: fail}, {Node: "n2", Err: fail}}}},
		Stats: runner.Stats{Failed: 1, Total: 1, TotalKnown: true}})
	got := errb.String()
	require.Less(t, len(got), 2000, got)
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		require.NotContains(t, l, "\x1b", "control characters are escaped")
		if strings.Contains(l, "false ") {
			require.True(t, strings.Contains(l, "job 7 ") || strings.Contains(l, "jobs.txt:7"), "the job's number is given: %s", l)
		}
	}
}
