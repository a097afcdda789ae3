//go:build unix

package records

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Issue 11 defect 4: two runs started at once on a new log. The test plays
// the first run: it has created the file and holds the lock, as a run does
// between finding the log empty and writing the header. The second run's
// OpenJobLog must wait for it, and then see the header and write none.
func TestJobLogOneHeaderWhenTwoRunsStartAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblog")
	first, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer first.Close()
	require.NoError(t, syscall.Flock(int(first.Fd()), syscall.LOCK_EX))

	type opened struct {
		l   *JobLogFile
		err error
	}
	second := make(chan opened, 1)
	go func() {
		l, err := OpenJobLog(path)
		second <- opened{l, err}
	}()
	var got opened
	returned := false
	select {
	case got = <-second: // the bug: it did not wait for the lock
		returned = true
	case <-time.After(300 * time.Millisecond):
	}
	_, err = first.WriteString(JobLogHeader + "\n")
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(first.Fd()), syscall.LOCK_UN))
	if !returned {
		got = <-second
	}
	require.NoError(t, got.err)
	require.NoError(t, got.l.Record(JobLogEntry{Seq: 1, Host: ":", Command: "a"}))
	require.NoError(t, got.l.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(b), JobLogHeader), "log:\n%s", b)
	require.False(t, returned, "OpenJobLog did not wait for the lock")
}
