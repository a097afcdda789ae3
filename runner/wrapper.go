package runner

import "github.com/drove-dev/drove/internal/shquote"

// remoteCommand wraps a job for a node's login shell so that the job dies
// with its session. OpenSSH does not end a command when its session closes
// unless it has a pty or is signalled (and signals are refused for root
// before OpenSSH 9.8), so drove keeps the session's stdin open for the
// job's whole life and the wrapper watches it:
//
//   - fd 3 keeps the session's stdin, because a background list in a
//     non-interactive shell gets /dev/null as its stdin;
//   - a watcher in the background reads stdin until EOF, which comes when
//     drove closes stdin, the session closes, or sshd drops the connection;
//     it then sends TERM to the session's process group (sshd puts every
//     session in a process group of its own with setsid), waits up to
//     graceSeconds for the job to go, and sends KILL to the group, itself
//     included. If the job has already exited it just leaves;
//   - the job replaces the login shell with exec, so its exit status or
//     signal is what sshd reports, and it reads /dev/null, never the session.
//
// Only POSIX sh features are used; nothing needs installing on the node.
func remoteCommand(job string, graceSeconds int) string {
	g := itoa(graceSeconds)
	return `exec 3<&0; ` +
		`( trap '' HUP INT TERM; while read -r _; do :; done; ` +
		`kill -0 $$ 2>/dev/null || exit 0; kill -TERM 0; n=0; ` +
		`while kill -0 $$ 2>/dev/null && [ $n -lt ` + g + ` ]; do sleep 1; n=$((n+1)); done; ` +
		`kill -KILL 0 ) <&3 >/dev/null 2>&1 & ` +
		`exec sh -c ` + shquote.Quote(job) + ` sh </dev/null 3<&-`
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
