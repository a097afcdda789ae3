//go:build unix

package runner

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWrappersUnderLoginShells runs a job the two ways drove wraps it (with
// its own watcher, and registered with a guard) under each login shell, as
// sshd would start it: the job's output and exit status pass through, a
// job killed by a signal is reported with that signal, and the job dies
// when its session's stdin (watcher) or its guard's stdin ends. CI
// installs every shell listed; elsewhere a missing one is skipped.
func TestWrappersUnderLoginShells(t *testing.T) {
	for _, shell := range []string{"dash", "bash", "zsh", "ksh"} {
		t.Run(shell, func(t *testing.T) {
			path, err := exec.LookPath(shell)
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s is missing (.ci/run installs it)", shell)
				}
				t.Skipf("%s is not installed", shell)
			}
			g, _ := localGuard(t, 1)
			wrappers := map[string]func(job string) string{
				"watcher": func(job string) string { return RemoteCommand(job, 1) },
				"guarded": func(job string) string { return mustJob(g, job) },
			}
			for _, name := range []string{"watcher", "guarded"} {
				wrap := wrappers[name]
				out, err := loginShellRun(t, path, wrap(`echo "it's $((1+2))"; exit 3`))
				require.Equal(t, "it's 3\n", out, name)
				require.Equal(t, 3, exitCode(t, err), name)

				_, err = loginShellRun(t, path, wrap(`sh -c 'kill -USR1 $$'`))
				require.Equal(t, syscall.SIGUSR1, signalOf(t, err), name)
			}

			dir := t.TempDir()
			w := exec.Command(path, "-c", RemoteCommand("touch "+dir+"/w; sleep 30", 1))
			w.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			stdin, err := w.StdinPipe()
			require.NoError(t, err)
			require.NoError(t, w.Start())
			t.Cleanup(func() { _ = syscall.Kill(-w.Process.Pid, syscall.SIGKILL) })
			watched := make(chan error, 1)
			go func() { watched <- w.Wait() }()

			_, guarded := localJobIn(t, path, mustJob(g, "touch "+dir+"/g; sleep 30"))

			waitFile(t, filepath.Join(dir, "w"))
			waitFile(t, filepath.Join(dir, "g"))
			require.NoError(t, stdin.Close())
			require.Equal(t, syscall.SIGTERM, signalOf(t, waitJob(t, watched)), "watcher")
			require.NoError(t, g.stdin.Close())
			require.Equal(t, syscall.SIGTERM, signalOf(t, waitJob(t, guarded)), "guarded")
		})
	}
}

// loginShellRun runs command with shell -c in a session of its own, with
// stdin held open as drove holds a session's (the watcher takes its end
// for the connection's), and returns its stdout.
func loginShellRun(t *testing.T, shell, command string) (string, error) {
	t.Helper()
	return sessionRun(t, shell, "-c", command)
}

// sessionRun is loginShellRun for any command line.
func sessionRun(t *testing.T, argv ...string) (string, error) {
	t.Helper()
	c := exec.Command(argv[0], argv[1:]...)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdin, err := c.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	out, err := c.Output()
	return string(out), err
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), fmt.Sprintf("want an exit status, got %v", err))
	return ee.ExitCode()
}
