// Package sshdtest starts real OpenSSH sshd processes on loopback so that
// drove's tests and benchmarks can run against the server drove meets in
// production rather than an in-process imitation.
//
// Start gives a Cluster of nodes. Each node is its own sshd listening on a
// distinct loopback address (127.0.0.11, 127.0.0.12, ...) and a port the
// kernel chose, with a fresh ed25519 host key (or Options.HostKeys). One throwaway ed25519 client key is
// authorized on every node for a dedicated non-root login user, and the
// Cluster carries a known_hosts file and an ssh_config with one Host alias per
// node ("node1" .. "nodeN"), so both x/crypto/ssh and the OpenSSH client can
// log in with strict host key checking.
//
// Guarantees:
//   - When Start returns, every node's sshd process holds a socket listening
//     on its address (checked in /proc, without a probe connection, which
//     would take a MaxStartups slot); a node that does not come up fails the
//     test with its sshd log.
//   - A node's port is never picked and released: the harness holds it,
//     with a bound socket that does not listen, from the kernel's choice
//     until cleanup, so no other bind to port 0 and no outgoing connection
//     can get it, including while the node is killed (see portHold in
//     port.go). A process that names the port explicitly and listens there
//     first makes the node move to another port during Start.
//   - Sessions run as an ordinary user (LoginUser) whose login shell is
//     /bin/sh. A non-root login matters: OpenSSH before 9.8 ignores session
//     signals for root logins, and CI runs as root.
//   - A node's processes are its sshd listener, every descendant of it (the
//     per-connection sshd processes and the sessions they run) and every
//     process whose environment carries the node's SSH_CONNECTION server
//     address (session processes that detached from the tree). Kill, Freeze
//     and Thaw act on all of them; cleanup thaws and kills all of them.
//   - No fixed sleeps: every wait polls a condition under a deadline.
//
// Skip rule: Start needs root (sshd must be started as root, and the login
// user may need creating) and an installed sshd. Without them it skips the
// test, unless the environment variable CI is non-empty, in which case it
// fails the test, so that CI cannot silently skip the real-sshd tier.
//
// The functions take a TB, which testing.TB satisfies; a program such as
// bench/sshdbed can pass its own implementation.
package sshdtest
