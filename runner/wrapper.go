package runner

// RemoteCommand wraps a job for a node's login shell so that the job dies
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
//   - the job itself follows on its own line, run by the login shell as
//     ssh would run it (no second shell, which cost 0.7 ms of node CPU per
//     job), with stdin from /dev/null, never the session;
//   - a last line passes the job's exit status on, and when the job's last
//     command died of a signal (the shell reports 128+n, ksh93 256+n: the
//     shell does not exec it) re-raises that signal on the shell, so sshd
//     reports the signal by name. A job that runs "exit N" itself never
//     reaches that line.
//
// Only POSIX sh features are used; nothing needs installing on the node,
// but the login shell must be POSIX-compatible (sh, dash, bash, ksh, zsh).
func RemoteCommand(job string, graceSeconds int) string {
	g := itoa(graceSeconds)
	return `exec 3<&0; ` +
		`( trap '' HUP INT TERM; while read -r _; do :; done; ` +
		`kill -0 $$ 2>/dev/null || exit 0; kill -TERM 0; n=0; ` +
		`while kill -0 $$ 2>/dev/null && [ $n -lt ` + g + ` ]; do sleep 1; n=$((n+1)); done; ` +
		`kill -KILL 0 ) <&3 >/dev/null 2>&1 & ` +
		`exec 3<&- </dev/null` + "\n" + job + "\n" + reraise
}

// reraise turns a status of 128+n (256+n in ksh93), for a signal n that
// ends a process by default, back into death by that signal.
const reraise = `s=$?; case $s in ` +
	`129|130|131|132|134|135|136|137|138|139|140|141|142|143) n=$((s-128));; ` +
	`257|258|259|260|262|263|264|265|266|267|268|269|270|271) n=$((s-256));; ` +
	`*) exit $s;; esac; trap - $n 2>/dev/null; kill -$n $$; exit $s`

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
