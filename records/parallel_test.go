package records

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// parallel runs GNU parallel (the oracle for the job log format) with args
// and stdin in dir; the test is skipped if parallel is not installed.
func parallel(t *testing.T, dir, stdin string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("parallel"); err != nil {
		t.Skip("GNU parallel not installed")
	}
	cmd := exec.Command("parallel", append([]string{"--will-cite", "-j1"}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	_ = cmd.Run() // parallel exits with the number of failed jobs
	require.Empty(t, strings.TrimSpace(stderr.String()), "parallel's stderr")
}

// oracleJobs are jobs whose log lines exercise every column: output sizes,
// exit statuses, a signal, tabs, backslashes and quotes in the command.
var oracleJobs = []string{
	"echo a",
	"echo a",
	"exit 3",
	"kill -TERM $$",
	`printf 'a\tb'`,
	"printf x",
	"echo\tliteral tab",
	`echo 'back\\slash' "$HOME" | wc -c`,
	"sleep 0.15; echo é",
}

// TestFormatIsGNUParallels runs the same jobs through GNU parallel --joblog
// and requires FormatJobLogEntry to give back each of its lines byte for byte, from
// the values parsed out of that line: column order, separators, padding
// and number formats all come from parallel, only the values are read.
func TestFormatIsGNUParallels(t *testing.T) {
	dir := t.TempDir()
	parallel(t, dir, strings.Join(oracleJobs, "\n")+"\n", "--joblog", "log")
	b, err := os.ReadFile(filepath.Join(dir, "log"))
	require.NoError(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	require.Equal(t, JobLogHeader+"\n", lines[0])
	require.Equal(t, "", lines[len(lines)-1])
	lines = lines[1 : len(lines)-1]
	require.Len(t, lines, len(oracleJobs))
	var cmds []string
	for _, line := range lines {
		e, err := ParseJobLogEntry(strings.TrimSuffix(line, "\n"))
		require.NoError(t, err, "%q", line)
		require.Equal(t, line, FormatJobLogEntry(e))
		require.Equal(t, ":", e.Host, "parallel's host for a local job")
		cmds = append(cmds, e.Command)
	}
	slices.Sort(cmds)
	want := slices.Clone(oracleJobs)
	slices.Sort(want)
	require.Equal(t, want, cmds)

	// And a drove entry for the same kind of job is laid out the same way.
	e := JobLogEntry{Seq: 12, Host: ":", Start: time.UnixMilli(1795930082138), Runtime: 205 * time.Millisecond, Receive: 6, Command: "sleep 0.2; echo hello"}
	require.Equal(t, "12\t:\t1795930082.138\t     0.205\t0\t6\t0\t0\tsleep 0.2; echo hello\n", FormatJobLogEntry(e))
}

// TestFormatNewlineIsParallels: parallel writes a newline in a command as
// NUL; so does drove, and it reads NUL back as a newline.
func TestFormatNewlineIsParallels(t *testing.T) {
	dir := t.TempDir()
	parallel(t, dir, "echo 'x\ny'\x00", "-0", "--joblog", "log")
	b, err := os.ReadFile(filepath.Join(dir, "log"))
	require.NoError(t, err)
	line := strings.SplitAfter(string(b), "\n")[1]
	require.True(t, strings.HasSuffix(line, "\techo 'x\x00y'\n"), "%q", line)
	e, err := ParseJobLogEntry(strings.TrimSuffix(line, "\n"))
	require.NoError(t, err)
	require.Equal(t, "echo 'x\ny'", e.Command)
	require.Equal(t, line, FormatJobLogEntry(e))
}

// TestDroveResumesFromParallelsLog: drove's reader on a log written by GNU
// parallel skips what parallel finished, counting identical lines.
func TestDroveResumesFromParallelsLog(t *testing.T) {
	dir := t.TempDir()
	parallel(t, dir, strings.Join(oracleJobs, "\n")+"\n", "--joblog", "log")
	l, err := ReadJobLog(filepath.Join(dir, "log"))
	require.NoError(t, err)
	require.Equal(t, oracleJobs, skipped(t, l, false, oracleJobs...))
	// --resume-failed runs again the two that failed (exit 3, the signal).
	require.Equal(t, []string{"echo a", "echo a", `printf 'a\tb'`, "printf x", "echo\tliteral tab", `echo 'back\\slash' "$HOME" | wc -c`, "sleep 0.15; echo é"},
		skipped(t, l, true, oracleJobs...))

	// Without the line of the second "echo a", one of the two runs again.
	b, err := os.ReadFile(filepath.Join(dir, "log"))
	require.NoError(t, err)
	var kept []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if !strings.HasPrefix(line, "2\t") {
			kept = append(kept, line)
		}
	}
	l = parseLog(t, strings.Join(kept, ""))
	require.Equal(t, slices.Delete(slices.Clone(oracleJobs), 1, 2), skipped(t, l, false, oracleJobs...))
}

// TestParallelResumesFromDrovesLog: GNU parallel --resume and
// --resume-failed on a log drove wrote skip what drove finished.
func TestParallelResumesFromDrovesLog(t *testing.T) {
	var list []string
	for i := 1; i <= 5; i++ {
		list = append(list, "echo "+string(rune('0'+i))+" >> ran")
	}
	input := strings.Join(list, "\n") + "\n"
	for _, tc := range []struct {
		flag string
		want string
	}{{"--resume", "3\n4\n5\n"}, {"--resume-failed", "2\n3\n4\n5\n"}} {
		dir := t.TempDir()
		l, err := OpenJobLog(filepath.Join(dir, "log"))
		require.NoError(t, err)
		now := time.Now()
		require.NoError(t, l.Record(JobLogEntry{Seq: 1, Host: ":", Start: now, Runtime: time.Millisecond, Command: list[0]}))
		require.NoError(t, l.Record(JobLogEntry{Seq: 2, Host: "node1", Start: now, Exitval: 3, Command: list[1]}))
		require.NoError(t, l.Close())
		parallel(t, dir, input, tc.flag, "--joblog", "log")
		ran, err := os.ReadFile(filepath.Join(dir, "ran"))
		require.NoError(t, err)
		require.Equal(t, tc.want, string(ran), tc.flag)
		// And drove reads back the log parallel appended to.
		back, err := ReadJobLog(filepath.Join(dir, "log"))
		require.NoError(t, err)
		require.Equal(t, list, skipped(t, back, false, list...))
	}
}
