//go:build unix

package runner

import (
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReraiseWithSignalsIgnoredAtEntry: a login shell started with a
// signal ignored (under nohup, or as a background job of a script, which
// ignores SIGINT) lists it in "trap" (bash does, as an empty action for
// SIGHUP). That is not a trap the job set, so a job killed by a signal still kills its
// shell with that signal; a trap that runs code still keeps the shell's
// own exit. Before, bash under nohup exited 138 instead of dying by
// SIGUSR1 (the flake of TestWrappersUnderLoginShells/bash in a suite run
// started in the background).
func TestReraiseWithSignalsIgnoredAtEntry(t *testing.T) {
	nohup, err := exec.LookPath("nohup")
	if err != nil {
		t.Skip("nohup is not installed")
	}
	for _, shell := range []string{"dash", "bash", "zsh", "ksh"} {
		t.Run(shell, func(t *testing.T) {
			path, err := exec.LookPath(shell)
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s is missing (.ci/run installs it)", shell)
				}
				t.Skipf("%s is not installed", shell)
			}
			_, err = sessionRun(t, nohup, path, "-c", RemoteCommand(`sh -c 'kill -USR1 $$'`, 1))
			require.Equal(t, syscall.SIGUSR1, signalOf(t, err))

			if shell == "dash" || shell == "zsh" {
				return // they list no code trap in $(trap) (docs/jobs.md)
			}
			// A trap with code set by what the job sourced (the job's text
			// does not say "trap"): the shell exits, running it.
			dir := t.TempDir()
			lib := dir + "/lib.sh"
			require.NoError(t, os.WriteFile(lib, []byte("trap 'echo bye' EXIT\n"), 0o644))
			out, err := sessionRun(t, nohup, path, "-c", RemoteCommand(`. `+lib+`; sh -c 'kill -USR1 $$'`, 1))
			require.Equal(t, 128+int(syscall.SIGUSR1), exitCode(t, err))
			require.Equal(t, "bye\n", out)
		})
	}
}
