package jobs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestJobLogRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblog")
	l, err := OpenJobLog(path)
	require.NoError(t, err)
	start := time.Unix(1700000000, 250_000_000)
	require.NoError(t, l.Record(Entry{Seq: 1, Host: "web1", Start: start, Runtime: 1500 * time.Millisecond, Receive: 12, Exitval: 0, Command: "echo ok"}))
	require.NoError(t, l.Record(Entry{Seq: 2, Host: "web2", Start: start, Runtime: time.Second, Exitval: 3, Command: "exit 3"}))
	require.NoError(t, l.Record(Entry{Seq: 3, Host: "web2", Start: start, Exitval: 143, Signal: 15, Command: "a\tb\nc\\d"}))
	require.NoError(t, l.Close())

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Equal(t, JobLogHeader, lines[0])
	require.Equal(t, "1\tweb1\t1700000000.250\t1.500\t0\t12\t0\t0\techo ok", lines[1])
	require.Len(t, lines, 4)

	// Reopening appends without a second header.
	l, err = OpenJobLog(path)
	require.NoError(t, err)
	require.NoError(t, l.Record(Entry{Seq: 4, Host: "web1", Start: start, Exitval: 0, Command: "exit 3"}))
	require.NoError(t, l.Close())

	out, err := ReadJobLog(path)
	require.NoError(t, err)
	require.Equal(t, Outcomes{KeyOf("echo ok"): true, KeyOf("exit 3"): true, KeyOf("a\tb\nc\\d"): false}, out)
}

func TestReadJobLogToleratesACutLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblog")
	require.NoError(t, os.WriteFile(path, []byte(JobLogHeader+"\n1\th\t1.0\t1.0\t0\t0\t0\t0\tdone\n2\th\t1.0"), 0o644))
	out, err := ReadJobLog(path)
	require.NoError(t, err)
	require.Equal(t, Outcomes{KeyOf("done"): true}, out)
}

func TestReadJobLogBadLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblog")
	require.NoError(t, os.WriteFile(path, []byte(JobLogHeader+"\ngarbage\n"), 0o644))
	_, err := ReadJobLog(path)
	require.ErrorContains(t, err, path+":2: jobs: joblog: want 9 tab-separated fields")
}

func TestSkip(t *testing.T) {
	var skipped []string
	s := Skip(Concat(&Strings{Cmds: []string{"a", "b", "c"}}), func(j Job) bool { return j.Cmd == "b" }, func(j Job) { skipped = append(skipped, j.Cmd) })
	got, err := readAll(t, s)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "c", got[1].Cmd)
	require.Equal(t, 3, got[1].Seq)
	require.Equal(t, []string{"b"}, skipped)
}
