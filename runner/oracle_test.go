//go:build unix

package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// trickyJobs is the oracle corpus: job texts whose meaning a wrapper that
// splices text around the job would change. Each must give, through
// drove, the bytes and status "SHELL -c JOB" gives. None depends on the
// user, the working directory or the time, so a real sshd node (another
// user, another directory) must agree too.
var trickyJobs = []string{
	"echo hi |",
	"echo a &&",
	"echo a ||",
	"echo a \\",
	"echo a \\\n",
	"echo a # comment",
	"echo a #",
	"echo a\n# comment",
	"echo a; exit 3; echo b",
	"set -e; false; echo not reached",
	"set -e; false || true; echo reached",
	"set -u; echo $drove_undefined_var; echo after",
	"trap 'echo bye' EXIT; echo hi",
	"trap 'echo bye' EXIT; exit 4",
	"trap 'echo int' INT; kill -INT $$; echo after",
	"cat <<EOF\nline1 $((1+1))\nEOF\necho after",
	"cat <<'EOF'\nno $expansion\nEOF",
	"cat <<EOF\nunclosed here-doc",
	"printf 'no final newline'",
	"printf '\\000\\001\\377binary\\000'",
	"echo $0",
	`echo "$#" "$@"`,
	"echo 'unbalanced",
	`echo "unbalanced`,
	"echo $(( 1 +",
	"echo a; }",
	"'",
	"(exit 7)",
	"false",
	"",
	"   ",
	"\n\n",
	"echo a\necho b",
	"echo out; echo err >&2; exit 1",
	"sh -c 'kill -TERM $$'",
	"kill -USR1 $$; echo after",
	"sleep 0.1 & wait; echo waited",
	"jobs; echo \"[$!]\"",
	"exec echo replaced",
	`read x; echo "read:$x:$?"`,
	"f() { echo in f; return 3; }; f; echo $?",
	"shift; echo after",
	"echo a &",
	"s=5 n=6; echo $s $n",
	"alias e=echo\ne aliased",
	"nonexistent_command_drove; echo $?",
	"trap 'echo bye' EXIT; sh -c 'kill -USR1 $$'",
	"trap 'echo bye' EXIT; sh -c 'kill -USR1 $$'; (exit 3)",
	"sh -c 'kill -PIPE $$'; echo after",
}

// shellRun is how a job ended: its stdout, stderr and status, 128+n for
// death by signal n.
type shellRun struct {
	stdout, stderr string
	status         int
}

// runShell runs shell -c command as sshd would: a session of its own, stdin
// a pipe that stays open (the watcher takes its end for the session's end)
// or /dev/null.
func runShell(t *testing.T, shell, command string, pipeStdin bool) shellRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, shell, "-c", command)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var so, se bytes.Buffer
	c.Stdout, c.Stderr = &so, &se
	if pipeStdin {
		w, err := c.StdinPipe()
		require.NoError(t, err)
		defer w.Close()
	}
	err := c.Run()
	return shellRun{stdout: so.String(), stderr: se.String(), status: statusOf(t, err)}
}

func statusOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	var xe *ExitError
	require.True(t, errors.As(err, &xe), "want an exit status, got %v", err)
	return xe.Status
}

var (
	kshEvalLine  = regexp.MustCompile(`eval: line \d+: `) // runtime errors in eval
	kshEvalNum   = regexp.MustCompile(`eval\[\d+\]: `)    // "not found" in eval
	bashLine     = regexp.MustCompile(`line \d+`)
	bashSignaled = regexp.MustCompile(`(?m)^(\S*bash: line \d+: +\d+ )?(Terminated|Killed|Hangup|User defined signal [12]|Alarm clock|Quit|Aborted|Segmentation fault)( \(core dumped\))?( .*)?\n`)
	kshSignaled  = regexp.MustCompile(`(?m)^\S*ksh: \d+: [A-Z][A-Za-z ]*\d*( \(core dumped\))?\n`) // a child killed by a signal
)

// normalizeDiag removes what eval adds to a shell's own diagnostics about
// the job's text (documented in jobCommand): "eval: " (dash, bash, ksh93),
// "(eval)" for the shell's name (zsh), bash's "-c: " where eval would be,
// and ksh93's note that the last command died of a signal, which ksh93
// -c does not write because it execs that command. Nothing else of stderr
// is touched.
func normalizeDiag(shell, s string) string {
	name := shell[strings.LastIndexByte(shell, '/')+1:]
	switch name {
	case "zsh":
		s = strings.ReplaceAll(s, "(eval):", "zsh:")
	case "ksh":
		s = kshEvalLine.ReplaceAllString(s, "")
		s = kshEvalNum.ReplaceAllString(s, "")
		s = kshSignaled.ReplaceAllString(s, "")
	case "bash":
		s = strings.ReplaceAll(s, shell+": -c: ", shell+": ")
		s = bashSignaled.ReplaceAllString(s, "")
		s = bashLine.ReplaceAllString(s, "line N")
	}
	return strings.ReplaceAll(s, ": eval: ", ": ")
}

// knownDiff says whether shell and job are a documented divergence (docs/jobs.md,
// jobCommand): ksh93 parses an eval string whole, so an alias a job
// defines does not apply to the job's later lines.
func knownDiff(shell, job string) bool {
	name := shell[strings.LastIndexByte(shell, '/')+1:]
	return name == "ksh" && strings.HasPrefix(job, "alias ")
}

func requireSame(t *testing.T, shell, job, how string, want, got shellRun) {
	t.Helper()
	if knownDiff(shell, job) {
		return
	}
	if want.stdout != got.stdout || normalizeDiag(shell, want.stderr) != normalizeDiag(shell, got.stderr) || want.status != got.status {
		t.Errorf("%s %s: job %q\nwant %+v\ngot  %+v", shell, how, job, want, got)
	}
}

// TestJobTextMeansWhatShellMeans is the differential test of issue 11's
// defect 2: each job of trickyJobs runs under each login shell through
// both of drove's wrappers (its own watcher, and registered with a guard)
// and directly as "SHELL -c JOB"; the bytes out and the status must agree.
// With -short, sh only; the quick tier runs sh, dash and bash, the slow
// tier (-tags slow) zsh and ksh too.
func TestJobTextMeansWhatShellMeans(t *testing.T) {
	seen := map[string]bool{} // sh is often dash: run each binary once
	for _, shell := range []string{"sh", "dash", "bash", "zsh", "ksh"} {
		t.Run(shell, func(t *testing.T) {
			if testing.Short() && shell != "sh" {
				t.Skip("-short runs sh only")
			}
			if shell == "zsh" || shell == "ksh" {
				testkit.Slow(t)
			}
			path, err := exec.LookPath(shell)
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s is missing (.ci/run installs it)", shell)
				}
				t.Skipf("%s is not installed", shell)
			}
			if real, err := filepath.EvalSymlinks(path); err == nil {
				if seen[real] {
					t.Skipf("%s is %s, already run", shell, real)
				}
				seen[real] = true
			}
			g, _ := localGuard(t, 1)
			for _, job := range trickyJobs {
				want := runShell(t, path, job, false)
				requireSame(t, path, job, "watcher", want, runShell(t, path, RemoteCommand(job, 1), true))
				requireSame(t, path, job, "guarded", want, runShell(t, path, mustJob(g, job), false))
			}
		})
	}
}

// hostRun runs job on h and returns what came out.
func hostRun(t *testing.T, h Host, job string) shellRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var so, se bytes.Buffer
	err := h.Run(ctx, job, &so, &se)
	require.NoError(t, ctx.Err(), "job %q did not end", job)
	return shellRun{stdout: so.String(), stderr: se.String(), status: statusOf(t, err)}
}

// TestHostsRunJobsAsShDoes: the same corpus through drove's hosts, local
// (":") and over SSH (in-process server running "sh -c"), first job of a
// connection (its own watcher) and guarded, against "sh -c JOB".
func TestHostsRunJobsAsShDoes(t *testing.T) {
	local := &Local{Grace: time.Second}
	ts := sshtest.New(t, sshtest.Options{})
	guarded := hostOn(t, ts, SSHOptions{Grace: time.Second})
	require.NoError(t, guarded.Run(context.Background(), "true", &bytes.Buffer{}, &bytes.Buffer{}))
	require.NoError(t, guarded.Run(context.Background(), "true", &bytes.Buffer{}, &bytes.Buffer{}))
	require.Eventually(t, func() bool { return guardNow(guarded) != nil }, 10*time.Second, 5*time.Millisecond)
	for _, job := range trickyJobs {
		want := runShell(t, "sh", job, false)
		requireSame(t, "sh", job, "local", want, hostRun(t, local, job))
		requireSame(t, "sh", job, "ssh guarded", want, hostRun(t, guarded, job))
		fresh := hostOn(t, ts, SSHOptions{Grace: time.Second}) // its first job carries its own watcher
		requireSame(t, "sh", job, "ssh watcher", want, hostRun(t, fresh, job))
		require.NoError(t, fresh.Close())
	}
}
