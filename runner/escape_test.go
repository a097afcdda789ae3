//go:build unix

package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
)

// escapingJob starts, from a job, processes that leave its process group
// in the three usual ways (setsid, a double-forked daemon in a new
// session, nohup in a new session), each running "sleep 30; : MARK" with
// its stdio detached, then touches started and sleeps.
func escapingJob(mark, started string) string {
	body := fmt.Sprintf("'sleep 30; : %s'", mark)
	return fmt.Sprintf("setsid sh -c %s >/dev/null 2>&1 </dev/null & "+
		"(setsid sh -c %s >/dev/null 2>&1 </dev/null &); "+
		"nohup setsid sh -c %s >/dev/null 2>&1 </dev/null & "+
		"sleep 0.2; touch %s; sleep 30", body, body, body, started)
}

// killAll kills what a failed test left behind.
func killAll(t *testing.T, mark string) {
	t.Cleanup(func() {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err == nil && bytes.Contains(b, []byte(mark)) {
				var pid int
				if _, err := fmt.Sscan(e.Name(), &pid); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	})
}

// runAndKill runs escapingJob on h, kills it once it has started, and
// waits until none of its processes is left.
func runAndKill(t *testing.T, h Host) {
	t.Helper()
	mark := fmt.Sprintf("droveescape%d", time.Now().UnixNano())
	killAll(t, mark)
	started := filepath.Join(t.TempDir(), "started")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.Run(ctx, escapingJob(mark, started), &bytes.Buffer{}, &bytes.Buffer{}) }()
	waitFile(t, started)
	require.True(t, psHas(t, "sleep 30; : "+mark))
	cancel()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(15 * time.Second):
		t.Fatal("the killed job did not end")
	}
	require.Eventually(t, func() bool { return !psHas(t, mark) }, 20*time.Second, 20*time.Millisecond,
		"a process that left the job's process group survived the kill")
}

// TestKilledJobTakesEscapedProcesses (issue 11, defect 10): a job killed
// by --timeout or the second Ctrl-C takes with it the processes it
// started in a session of their own, on ':' and over SSH, with a watcher
// and with a guard.
func TestKilledJobTakesEscapedProcesses(t *testing.T) {
	for _, tool := range []string{"setsid", "nohup", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	t.Run("local", func(t *testing.T) { runAndKill(t, &Local{Grace: time.Second}) })
	ts := sshtest.New(t, sshtest.Options{})
	t.Run("ssh watcher", func(t *testing.T) { runAndKill(t, hostOn(t, ts, SSHOptions{Grace: time.Second})) })
	t.Run("ssh guarded", func(t *testing.T) {
		h := hostOn(t, ts, SSHOptions{Grace: time.Second})
		require.NoError(t, h.Run(context.Background(), "true", &bytes.Buffer{}, &bytes.Buffer{}))
		require.Eventually(t, func() bool { return guardNow(h) != nil }, 10*time.Second, 5*time.Millisecond)
		runAndKill(t, h)
	})
	t.Run("ssh guard ends", func(t *testing.T) {
		h := hostOn(t, ts, SSHOptions{Grace: time.Second})
		require.NoError(t, h.Run(context.Background(), "true", &bytes.Buffer{}, &bytes.Buffer{}))
		require.Eventually(t, func() bool { return guardNow(h) != nil }, 10*time.Second, 5*time.Millisecond)
		mark := fmt.Sprintf("droveescape%d", time.Now().UnixNano())
		killAll(t, mark)
		started := filepath.Join(t.TempDir(), "started")
		errc := make(chan error, 1)
		go func() {
			errc <- h.Run(context.Background(), escapingJob(mark, started), &bytes.Buffer{}, &bytes.Buffer{})
		}()
		waitFile(t, started)
		require.NoError(t, h.Close())
		<-errc
		require.Eventually(t, func() bool { return !psHas(t, mark) }, 20*time.Second, 20*time.Millisecond,
			"a process that left the job's process group survived the connection's end")
	})
}

// TestJobEndingByItselfLeavesDaemons: as under "sh -c", a job that ends by
// itself leaves alone what it started in a session of its own.
func TestJobEndingByItselfLeavesDaemons(t *testing.T) {
	mark := fmt.Sprintf("drovedaemon%d", time.Now().UnixNano())
	killAll(t, mark)
	job := fmt.Sprintf("setsid sh -c 'sleep 30; : %s' >/dev/null 2>&1 </dev/null &", mark)
	require.NoError(t, (&Local{Grace: time.Second}).Run(context.Background(), job, &bytes.Buffer{}, &bytes.Buffer{}))
	require.Eventually(t, func() bool { return psHas(t, mark) }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // give a wrongly eager watcher its chance
	require.True(t, psHas(t, mark), "the daemon of a job that ended by itself was killed")
}
