package records

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
)

func TestJobLogRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblog")
	l, err := OpenJobLog(path)
	require.NoError(t, err)
	start := time.Unix(1700000000, 250_000_000)
	require.NoError(t, l.Record(JobLogEntry{Seq: 1, Host: "web1", Start: start, Runtime: 1500 * time.Millisecond, Receive: 12, Exitval: 0, Command: "echo ok"}))
	require.NoError(t, l.Record(JobLogEntry{Seq: 2, Host: "web2", Start: start, Runtime: time.Second, Exitval: 3, Command: "exit 3"}))
	require.NoError(t, l.Record(JobLogEntry{Seq: 3, Host: ":", Start: start, Exitval: 0, Signal: 15, Command: "a\tb\nc\\d"}))
	require.NoError(t, l.Close())

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Equal(t, JobLogHeader, lines[0])
	require.Equal(t, "1\tweb1\t1700000000.250\t     1.500\t0\t12\t0\t0\techo ok", lines[1])
	require.Equal(t, "3\t:\t1700000000.250\t     0.000\t0\t0\t0\t15\ta\tb\x00c\\d", lines[3])
	require.Len(t, lines, 4)

	// Reopening appends without a second header.
	l, err = OpenJobLog(path)
	require.NoError(t, err)
	require.NoError(t, l.Record(JobLogEntry{Seq: 4, Host: "web1", Start: start, Exitval: 0, Command: "exit 3"}))
	require.NoError(t, l.Close())

	log, err := ReadJobLog(path)
	require.NoError(t, err)
	requireFinished(t, log, "echo ok", 1, 1)
	requireFinished(t, log, "exit 3", 2, 1)
	requireFinished(t, log, "a\tb\nc\\d", 1, 0)
	requireFinished(t, log, "never", 0, 0)
}

func requireFinished(t *testing.T, l *JobLogSummary, cmd string, finished, succeeded int) {
	t.Helper()
	f, s := l.Finished(cmd)
	require.Equal(t, [2]int{finished, succeeded}, [2]int{f, s}, "finished, succeeded of %q", cmd)
}

func parseLog(t *testing.T, text string) *JobLogSummary {
	t.Helper()
	l, err := ParseJobLog(strings.NewReader(text), "log")
	require.NoError(t, err)
	return l
}

func skipped(t *testing.T, l *JobLogSummary, retryFailed bool, cmds ...string) []string {
	t.Helper()
	var out []string
	src := jobs.Skip(jobs.Concat(&jobs.Strings{Cmds: cmds}), l.Skipper(retryFailed), func(j jobs.Job) { out = append(out, j.Cmd) })
	for {
		_, err := src.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
	}
}

// Issue 11 defect 4: two identical lines, one logged: --resume skips one.
func TestResumeMatchesByTextAndCount(t *testing.T) {
	l := parseLog(t, JobLogHeader+"\n1\t:\t1.000\t     1.000\t0\t0\t0\t0\techo same\n")
	require.Equal(t, []string{"echo same"}, skipped(t, l, false, "echo same", "echo same", "other"))
	require.Equal(t, []string{"echo same"}, skipped(t, l, true, "echo same", "echo same", "other"))
}

func TestResumeFailedRerunsOnlyTheFailedCopies(t *testing.T) {
	// Three identical jobs: seq 1 failed then succeeded when rerun, seq 2
	// failed, seq 3 never finished.
	l := parseLog(t, JobLogHeader+"\n"+
		"1\t:\t1.000\t     1.000\t0\t0\t1\t0\tx\n"+
		"2\t:\t1.000\t     1.000\t0\t0\t1\t0\tx\n"+
		"1\t:\t2.000\t     1.000\t0\t0\t0\t0\tx\n")
	requireFinished(t, l, "x", 2, 1)
	require.Equal(t, []string{"x", "x"}, skipped(t, l, false, "x", "x", "x"))
	require.Equal(t, []string{"x"}, skipped(t, l, true, "x", "x", "x"))
}

func TestReadJobLogToleratesACutLastLineAndDuplicateHeaders(t *testing.T) {
	l := parseLog(t, JobLogHeader+"\n"+JobLogHeader+"\n1\th\t1.0\t1.0\t0\t0\t0\t0\tdone\n"+JobLogHeader+"\n2\th\t1.0")
	requireFinished(t, l, "done", 1, 1)
}

func TestReadJobLogBadLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblog")
	require.NoError(t, os.WriteFile(path, []byte(JobLogHeader+"\ngarbage\n"), 0o644))
	_, err := ReadJobLog(path)
	require.ErrorContains(t, err, path+":2: jobs: joblog: want 9 tab-separated fields")
}

// Issue 11 defect 4: drove killed mid-line. The next run must not append
// onto the torn line, and the run after must read the log.
func TestJobLogRepairsATornLastLine(t *testing.T) {
	for _, torn := range []string{"2\t:\t1700000000.1", "Seq\tHo"} {
		path := filepath.Join(t.TempDir(), "joblog")
		head := JobLogHeader + "\n1\t:\t1700000000.000\t     1.000\t0\t0\t0\t0\tdone\n"
		if torn == "Seq\tHo" {
			head = ""
		}
		require.NoError(t, os.WriteFile(path, []byte(head+torn), 0o644))
		l, err := OpenJobLog(path)
		require.NoError(t, err)
		require.NoError(t, l.Record(JobLogEntry{Seq: 2, Host: ":", Start: time.Unix(1700000001, 0), Command: "next"}))
		require.NoError(t, l.Close())
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		if head == "" {
			head = JobLogHeader + "\n"
		}
		require.Equal(t, head+"2\t:\t1700000001.000\t     0.000\t0\t0\t0\t0\tnext\n", string(b))
		log, err := ReadJobLog(path)
		require.NoError(t, err)
		requireFinished(t, log, "next", 1, 1)
	}
}

// A file that is not a job log (--joblog pointed at the wrong file) loses
// nothing: its last line is ended, not cut.
func TestJobLogNeverCutsAFileThatIsNotALog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes")
	require.NoError(t, os.WriteFile(path, []byte("my notes\nunfinished"), 0o644))
	l, err := OpenJobLog(path)
	require.NoError(t, err)
	require.NoError(t, l.Record(JobLogEntry{Seq: 1, Host: ":", Start: time.Unix(5, 0), Command: "a"}))
	require.NoError(t, l.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "my notes\nunfinished\n1\t:\t5.000\t     0.000\t0\t0\t0\t0\ta\n", string(b))
}

// A job log whose unterminated last line cannot be the start of a record
// (a note someone appended, a line of another format) keeps it: it is
// ended, not cut. Only what a crash can leave — a record's start — is cut.
func TestJobLogKeepsALastLineThatIsNoRecord(t *testing.T) {
	for _, tail := range []string{"note: rerun on monday", "2\tnode\tyesterday", "x\t:\t1.000"} {
		path := filepath.Join(t.TempDir(), "joblog")
		head := JobLogHeader + "\n1\t:\t1700000000.000\t     1.000\t0\t0\t0\t0\tdone\n"
		require.NoError(t, os.WriteFile(path, []byte(head+tail), 0o644))
		l, err := OpenJobLog(path)
		require.NoError(t, err)
		require.NoError(t, l.Record(JobLogEntry{Seq: 2, Host: ":", Start: time.Unix(1700000001, 0), Command: "next"}))
		require.NoError(t, l.Close())
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, head+tail+"\n2\t:\t1700000001.000\t     0.000\t0\t0\t0\t0\tnext\n", string(b), "tail %q", tail)
	}
}

func TestCouldBeTornRecord(t *testing.T) {
	full := "12\tweb1\t1700000000.125\t     3.500\t0\t42\t1\t0\tmake -j8 \tall"
	for i := 1; i <= len(full); i++ {
		require.True(t, couldBeTornRecord(full[:i]), "prefix %q", full[:i])
	}
	for _, no := range []string{"x", "12x", "12\tweb\tnow", "1\th\t1.0\t 1.0\t0\t0\tok"} {
		require.False(t, couldBeTornRecord(no), no)
	}
}
