package runner

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/drove-dev/drove/internal/shquote"
)

// RemoteCommand wraps a job for a node's login shell so that the job dies
// with its session. OpenSSH does not end a command when its session closes
// unless it has a pty or is signalled (and signals are refused for root
// before OpenSSH 9.8), so drove keeps the session's stdin open for the
// job's whole life and the wrapper watches it:
//
//   - fd 3 keeps the session's stdin, because a background list in a
//     non-interactive shell gets /dev/null as its stdin;
//   - a watcher in the background reads stdin until drove writes "k" (kill
//     the job) or EOF, which comes when drove closes stdin, the session
//     closes, or sshd drops the connection. Unless the job has already
//     exited by itself (EOF with the job's shell gone), it sends TERM to
//     the session's process group (sshd puts every session in a process
//     group of its own with setsid) and to every process marked as the
//     job's (see killMarked), waits up to graceSeconds for the job's shell
//     to go, and sends KILL to the group, itself included. The marked
//     processes get KILL only once the group is gone, from a helper in a
//     session of its own (setsid(1), util-linux or busybox; without it
//     they get TERM only): killed first, a marked process in the group
//     would let its shell run on for a moment. The watcher is started
//     from a subshell that exits at once, so it is not a child of the job's shell: a job's "wait",
//     "jobs" and "$!" never see it (ksh93 runs a subshell in its own
//     process unless it must fork: the ulimit builtin is what forces that
//     fork; it changes nothing for the job, and fails harmlessly under a
//     lower hard limit);
//   - the job runs as the body of the wrapper, with DROVE_JOB set to a
//     random mark in its environment; see jobCommand.
//
// Only POSIX sh features are used; nothing needs installing on the node,
// but the login shell must be POSIX-compatible (sh, dash, bash, ksh, zsh).
// job must not hold a NUL byte (see CheckJob).
func RemoteCommand(job string, graceSeconds int) string {
	return remoteCommand(job, graceSeconds, newMark())
}

// remoteCommand is RemoteCommand with the job's mark given.
func remoteCommand(job string, graceSeconds int, mark string) string {
	g := itoa(graceSeconds)
	pat := shquote.Quote(markVar + "=" + mark)
	return `exec 3<&0; ( ulimit -t unlimited 2>/dev/null; ( trap '' HUP INT TERM; k=; ` +
		`while read -r k; do [ "$k" = k ] && break; done; ` +
		`[ "$k" = k ] || kill -0 $$ 2>/dev/null || exit 0; kill -TERM 0; ` + killMarked("TERM", "-x "+pat) + `; n=0; ` +
		`while kill -0 $$ 2>/dev/null && [ $n -lt ` + g + ` ]; do sleep 1; n=$((n+1)); done; ` +
		`setsid sh -c ` + shquote.Quote(`while kill -0 -$0 2>/dev/null; do sleep 0.05 2>/dev/null || sleep 1; done; `+killMarked("KILL", "-x "+pat)) + ` $$ & ` +
		`kill -KILL 0 ) <&3 >/dev/null 2>&1 & ); ` +
		`exec 3<&- </dev/null; ` + markVar + `=` + mark + `; export ` + markVar + `; ` + jobCommand(job)
}

// markVar is the environment variable that marks a job's processes.
const markVar = "DROVE_JOB"

// killMarked is shell code that sends sig to every process whose initial
// environment holds a DROVE_JOB matching grep's pattern args (-x and a
// fixed mark, or a regular expression for a prefix). Processes that leave
// the job's process group (setsid, daemons, nohup in a new session) keep
// the environment they were started with, so they are found where /proc
// and grep -z (GNU, busybox) exist; a process that clears its environment
// (env -i, sudo, systemd-run) or another user's is not. It forks grep
// once, only when a job is killed.
func killMarked(sig, args string) string {
	return `for f in $(grep -lz ` + args + ` /proc/[0-9]*/environ 2>/dev/null); do f=${f#/proc/}; kill -` + sig + ` ${f%/environ}; done`
}

// newMark returns a random mark for one job's processes.
func newMark() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// jobCommand is how a wrapper runs a job: its text is one single-quoted
// word given to eval, so the shell parses and runs it exactly as
// "shell -c JOB" would (a trailing "|", "&&" or "\", an open quote or
// here-doc is the same syntax error, "exit", "set -e", traps, $0 and "$@"
// behave the same), with no fork and no second shell. Nothing of the
// wrapper follows the job on its own line, so nothing the job leaves open
// can swallow it. What stays visible is listed in README ("Jobs"): the
// shell's messages about the job's own text name eval ("sh: 1: eval:
// Syntax error", "(eval):1:" under zsh) where "sh -c" would not, bash and
// ksh93 note a last command killed by a signal (sh -c would have exec'd
// it), and ksh93 parses the whole text before running it, so an alias
// the job defines does not apply to its later lines.
//
// After the job, in the same line (parsed before the job runs, so aliases
// the job defines cannot touch it, and with its trace sent to /dev/null so
// a job's "set -x" shows only the job), the wrapper passes the job's
// status on. When the job's last command died of a signal (the shell
// reports 128+n, ksh93 256+n) and the job set no trap, it re-raises that
// signal on the shell, so the node reports the signal by name, as it would
// have when "sh -c" runs the last command in its place. A job that runs
// "exit N" itself never reaches that part.
func jobCommand(job string) string {
	if strings.Contains(job, "trap") {
		// The job may set a trap: let the shell end as it would.
		return `eval ` + shquote.Quote(job)
	}
	return `eval ` + shquote.Quote(job) + `; ` + reraise
}

// reraise turns a status of 128+n (256+n in ksh93), for a signal n that
// ends a process by default, back into death by that signal, unless the
// job set a trap: then the shell exits with 128+n, so an EXIT trap still
// runs. A job whose text says "trap" gets no reraise at all; for a trap
// set where the text does not show it (a sourced file), bash and ksh93
// list it in "$(trap)", which forks, but only after a job ended by a
// signal. dash and zsh list nothing there, so under them such a job dies
// of the signal without running its EXIT trap.
const reraise = `{ s=$?; case $s in ` +
	`129|130|131|132|134|135|136|137|138|139|140|141|142|143) n=$((s-128));; ` +
	`257|258|259|260|262|263|264|265|266|267|268|269|270|271) n=$((s-256)); s=$((n+128));; ` +
	`*) exit "$s";; esac; [ -z "$(trap)" ] || exit "$s"; kill -"$n" "$$"; exit "$s"; } 2>/dev/null`

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
	if i := strings.IndexByte(job, 0); i >= 0 {
		return &UnstartableError{Reason: fmt.Sprintf("it holds a NUL byte (at byte %d), which no shell command can carry", i)}
	}
	if len(command) > MaxCommand {
		return &UnstartableError{Reason: fmt.Sprintf("it is %d bytes, %d once wrapped for the node, over the %d a shell accepts as its command", len(job), len(command), MaxCommand)}
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
