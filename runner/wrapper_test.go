//go:build unix

package runner

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startWrapped runs RemoteCommand(job) the way sshd does: "sh -c" in a
// session (process group) of its own, with a pipe as stdin.
func startWrapped(t *testing.T, job string) (*exec.Cmd, *os.File, *bytes.Buffer) {
	t.Helper()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	var out bytes.Buffer
	c := exec.Command("sh", "-c", RemoteCommand(job, 2))
	c.Stdin, c.Stdout, c.Stderr = pr, &out, &out
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	require.NoError(t, c.Start())
	require.NoError(t, pr.Close())
	t.Cleanup(func() { _ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL) })
	return c, pw, &out
}

func TestWrapperPassesExitStatusAndOutput(t *testing.T) {
	c, stdin, out := startWrapped(t, `echo "it's $((1+2))"; exit 3`)
	defer stdin.Close()
	err := c.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 3, ee.ExitCode())
	require.Equal(t, "it's 3\n", out.String())
}

func TestWrapperJobDoesNotReadSessionStdin(t *testing.T) {
	c, stdin, out := startWrapped(t, `cat; echo done`)
	_, _ = stdin.WriteString("secret\n")
	require.NoError(t, c.Wait())
	require.Equal(t, "done\n", out.String())
	stdin.Close()
}

// TestWrapperKillsJobTreeOnStdinEOF is the no-orphans promise: closing the
// session's stdin kills the job and the processes it started.
func TestWrapperKillsJobTreeOnStdinEOF(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "survived")
	started := filepath.Join(dir, "started")
	c, stdin, _ := startWrapped(t, `(sleep 3; touch `+marker+`) & touch `+started+`; sleep 3; touch `+marker)
	require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, stdin.Close())
	err := c.Wait()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "job should die of a signal, got %v", err)
	// The whole group is gone once a zero-signal kill finds nobody.
	require.Eventually(t, func() bool { return syscall.Kill(-c.Process.Pid, 0) != nil }, 5*time.Second, 20*time.Millisecond)
	_, statErr := os.Stat(marker)
	require.True(t, os.IsNotExist(statErr), "a process of the job outlived the session")
}

func TestWrapperQuotesHostileJob(t *testing.T) {
	dir := t.TempDir()
	job := `printf '%s\n' "a'b" 'c"d' '$(touch ` + dir + `/pwned)'`
	c, stdin, out := startWrapped(t, job)
	defer stdin.Close()
	require.NoError(t, c.Wait())
	require.Equal(t, "a'b\nc\"d\n$(touch "+dir+"/pwned)\n", out.String())
	require.NoFileExists(t, dir+"/pwned")
	require.False(t, strings.Contains(out.String(), "sh:"))
}

// TestWrapperReportsSignalOfLastCommand: a job whose last command dies of
// a signal is reported as that signal, while "exit 3" stays 3 and a job's
// own "exit 130" is not turned into a signal when it exits first.
func TestWrapperReportsSignalOfLastCommand(t *testing.T) {
	c, stdin, _ := startWrapped(t, `sleep 5 & p=$!; (sleep 0.2; kill -SEGV $p) & wait $p`)
	defer stdin.Close()
	err := c.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	ws := ee.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled(), "want death by signal, got %v", err)
	require.Equal(t, syscall.SIGSEGV, ws.Signal())

	c, stdin2, _ := startWrapped(t, `exit 130`)
	defer stdin2.Close()
	err = c.Wait()
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 130, ee.ExitCode())
}
