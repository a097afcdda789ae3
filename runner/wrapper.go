package runner

import (
	"fmt"
	"strings"

	"github.com/drove-dev/drove/internal/randhex"
	"github.com/drove-dev/drove/internal/shquote"
)

// RemoteCommand wraps a job for a node's login shell so that the job dies
// with its session: a watcher (watch.sh) in the background reads the
// session's stdin, and on "k" or EOF, unless the job has already exited,
// sends TERM to the session's process group and to the processes marked
// with the job's DROVE_JOB, and KILL after graceSeconds. The job itself
// runs as "sh -c JOB" would (see jobCommand), with stdin from /dev/null.
// The login shell must be POSIX-compatible (sh, dash, bash, ksh, zsh);
// nothing needs installing on the node. job must not hold a NUL byte (see
// CheckJob). docs/design-runner.md tells how and why.
func RemoteCommand(job string, graceSeconds int) string {
	return remoteCommand(job, graceSeconds, newMark())
}

// remoteCommand is RemoteCommand with the job's mark given.
func remoteCommand(job string, graceSeconds int, mark string) string {
	return watcherHead(graceSeconds, mark) + jobCommand(job)
}

// watcherHead is what RemoteCommand puts before the job's jobCommand: the
// watcher (watch.sh) gets the grace period and the mark's pattern as
// positional parameters of its own subshell, so the job's "$@" stays
// empty. Its length depends on graceSeconds only (a mark is always
// newMark's 16 hex digits).
func watcherHead(graceSeconds int, mark string) string {
	return "exec 3<&0; ( ulimit -t unlimited 2>/dev/null; set -- " + itoa(graceSeconds) + " " +
		shquote.Quote(markVar+"="+mark) + "; " + watcher + " ); " +
		"exec 3<&- </dev/null; " + markVar + "=" + mark + "; export " + markVar + "; "
}

// watcherHeadLen is len(watcherHead(graceSeconds, mark)) for any mark.
func watcherHeadLen(graceSeconds int) int {
	return len(watcherHead(graceSeconds, strings.Repeat("0", 2*markBytes)))
}

// markVar is the environment variable that marks a job's processes, so
// that those which left its process group are killed with it (where /proc
// and grep -z exist; see docs/design-runner.md for what escapes).
const markVar = "DROVE_JOB"

// markBytes is the random bytes of a job's mark, which is twice as many
// hex digits in the job's command (watcherHeadLen counts on the length).
const markBytes = 8

// newMark returns a random mark for one job's processes.
func newMark() string { return randhex.String(markBytes) }

// jobCommand is how a wrapper runs a job: its text is one single-quoted
// word given to eval, so the shell parses and runs it exactly as
// "shell -c JOB" would, with no fork and no second shell, and nothing of
// the wrapper follows it on a line of its own. On the same line, reraise
// passes the job's status on: a last command killed by a signal kills the
// shell with that signal, unless the job set a trap. The differences that
// stay visible are listed in docs/jobs.md ("Jobs"); docs/design-runner.md has
// the details.
func jobCommand(job string) string {
	if strings.Contains(job, "trap") {
		// The job may set a trap: let the shell end as it would.
		return `eval ` + shquote.Quote(job)
	}
	return `eval ` + shquote.Quote(job) + `; ` + reraise
}

// MaxCommand is the longest command, wrapper included, that drove gives a
// node's shell: Linux refuses a single argument of 128 KiB or more
// (MAX_ARG_STRLEN) with "argument list too long", and sshd passes the
// command to the login shell as one argument.
const MaxCommand = 128<<10 - 1

// CheckJob reports, as an *UnstartableError, a job that no node could
// start: one holding a NUL byte (no shell argument or SSH exec request can
// carry it; OpenSSH drops the whole connection over one), or one whose
// wrapped command is longer than MaxCommand.
func CheckJob(job, command string) error {
	return checkJobLen(job, len(command))
}

// checkJobLen is CheckJob for a wrapped command of n bytes.
func checkJobLen(job string, n int) error {
	if i := strings.IndexByte(job, 0); i >= 0 {
		return &UnstartableError{Reason: fmt.Sprintf("it holds a NUL byte (at byte %d), which no shell command can carry", i)}
	}
	if n > MaxCommand {
		return &UnstartableError{Reason: fmt.Sprintf("it is %d bytes, %d once wrapped for the node, over the %d a shell accepts as its command", len(job), n, MaxCommand)}
	}
	return nil
}

func itoa(n int) string {
	if n <= 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
