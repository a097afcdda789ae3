//go:build unix

package runner

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The guard's protocol, run by the local sh standing in for a node: each
// process started as sshd starts a session, in a session of its own.

// localGuard starts a guard as sshd would, and returns it once ready.
// Closing g.stdin is the connection ending; done is closed when the guard
// has exited.
func localGuard(t *testing.T, graceSeconds int) (g *guard, done <-chan struct{}) {
	t.Helper()
	c := exec.Command("sh", "-c", guardScript(graceSeconds, fmt.Sprintf("drove-guard-test.%d", time.Now().UnixNano())))
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := c.StdinPipe()
	require.NoError(t, err)
	out, err := c.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.Start())
	pid, dir, err := readGuardHello(out)
	require.NoError(t, err)
	ch := make(chan struct{})
	go func() { _ = c.Wait(); close(ch) }()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-ch:
		case <-time.After(15 * time.Second):
			_ = c.Process.Kill()
		}
	})
	return newGuard(pid, dir, stdin, ch), ch
}

// localJob starts a guarded job's command as sshd would start a session.
func localJob(t *testing.T, command string) (*exec.Cmd, <-chan error) {
	t.Helper()
	return localJobIn(t, "sh", command)
}

// localJobIn is localJob with another login shell.
func localJobIn(t *testing.T, shell, command string) (*exec.Cmd, <-chan error) {
	t.Helper()
	c := exec.Command(shell, "-c", command)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	require.NoError(t, c.Start())
	t.Cleanup(func() { _ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL) })
	errc := make(chan error, 1)
	go func() { errc <- c.Wait() }()
	return c, errc
}

// signalOf returns the signal that ended a job, or -1.
func signalOf(t *testing.T, err error) syscall.Signal {
	t.Helper()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "job ended with %v, want death by a signal", err)
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() {
		return -1
	}
	return ws.Signal()
}

func waitJob(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("the job was not killed")
		return nil
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	require.Eventually(t, func() bool { _, err := os.Stat(path); return err == nil }, 10*time.Second, 5*time.Millisecond)
}

// TestGuardKillsJobsWhenStdinEnds: jobs registered but never drained are
// killed, with their children, when the guard's stdin ends, even one that
// ignores TERM; a job that finished is left alone; the guard's directory
// is removed.
func TestGuardKillsJobsWhenStdinEnds(t *testing.T) {
	g, done := localGuard(t, 1)
	dir := t.TempDir()
	m := fmt.Sprintf("droveguardtest%d", time.Now().UnixNano())
	_, finished := localJob(t, mustJob(g, "true"))
	require.NoError(t, waitJob(t, finished))
	var jobs []<-chan error
	for i, body := range []string{
		"sh -c 'sleep 30; : " + m + "' & touch " + dir + "/0; sleep 30",
		"trap '' TERM; touch " + dir + "/1; sleep 30; : " + m,
	} {
		_, errc := localJob(t, mustJob(g, body))
		waitFile(t, filepath.Join(dir, fmt.Sprint(i)))
		jobs = append(jobs, errc)
	}
	require.NoError(t, g.stdin.Close())
	require.Equal(t, syscall.SIGTERM, signalOf(t, waitJob(t, jobs[0])))
	require.Equal(t, syscall.SIGKILL, signalOf(t, waitJob(t, jobs[1])), "TERM is ignored: KILL after the grace period")
	<-done
	require.Eventually(t, func() bool { return !psHas(t, m) }, 10*time.Second, 10*time.Millisecond, "a job's child outlived the guard")
	_, err := os.Stat(g.dir)
	require.True(t, os.IsNotExist(err), "the guard left its directory")
}

// TestGuardKillsOneJob: "k TOKEN" ends that job's group and no other,
// whether the job registered before the request or after it.
func TestGuardKillsOneJob(t *testing.T) {
	g, _ := localGuard(t, 1)
	dir := t.TempDir()

	tok, cmd := g.job("touch " + dir + "/a; sleep 30")
	_, running := localJob(t, cmd)
	waitFile(t, filepath.Join(dir, "a"))
	_, other := localJob(t, mustJob(g, "touch "+dir+"/b; sleep 30"))
	waitFile(t, filepath.Join(dir, "b"))
	g.kill(tok)
	require.Equal(t, syscall.SIGTERM, signalOf(t, waitJob(t, running)))

	// Killed before it starts: the guard remembers the token, and the
	// drains drove keeps asking for kill the job once it has registered.
	tok, cmd = g.job("sleep 30")
	g.kill(tok)
	_, late := localJob(t, cmd)
	ended := make(chan struct{})
	go redrain(g, ended)
	err := waitJob(t, late)
	close(ended)
	require.Equal(t, syscall.SIGTERM, signalOf(t, err))

	select {
	case err := <-other:
		t.Fatalf("a job nobody killed ended: %v", err)
	default:
	}
}

// TestGuardedJobDoesNotRunWithoutGuard: once the guard has ended, a job
// meant for it kills itself before running anything.
func TestGuardedJobDoesNotRunWithoutGuard(t *testing.T) {
	g, done := localGuard(t, 1)
	dir := t.TempDir()
	_, cmd := g.job("touch " + dir + "/ran")
	require.NoError(t, g.stdin.Close())
	<-done
	_, errc := localJob(t, cmd)
	require.Equal(t, syscall.SIGKILL, signalOf(t, waitJob(t, errc)))
	_, err := os.Stat(filepath.Join(dir, "ran"))
	require.True(t, os.IsNotExist(err), "the job ran without a guard")
}

// TestGuardedJobStatus: a guarded job's output and status are the job's.
func TestGuardedJobStatus(t *testing.T) {
	g, _ := localGuard(t, 1)
	out, err := exec.Command("sh", "-c", mustJob(g, "echo hello; exit 7")).Output()
	require.Equal(t, "hello\n", string(out))
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 7, ee.ExitCode())
}

func TestReadGuardHello(t *testing.T) {
	pid, dir, err := readGuardHello(strings.NewReader("motd noise\n" + guardHello + " 4242 /tmp/drove-guard.x y\n"))
	require.NoError(t, err)
	require.Equal(t, "4242", pid)
	require.Equal(t, "/tmp/drove-guard.x y", dir)
	for _, bad := range []string{"", "motd\n", guardHello + " 1 /tmp/x\n", guardHello + " 12 rel\n", guardHello + " 12 /tmp/x"} {
		_, _, err := readGuardHello(strings.NewReader(bad))
		require.Error(t, err, "%q", bad)
	}
}

func mustJob(g *guard, body string) string {
	_, cmd := g.job(body)
	return cmd
}
