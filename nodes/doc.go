// Package nodes turns the node list a user wrote into authenticated SSH
// connections for drove's runner.
//
// # Node specs
//
// Nodes are hostlist.Spec values (package hostlist parses node specs, lists
// and files); Resolve turns one into a Target.
//
// # ssh_config
//
// A Dialer reads ssh_config with drove's own reader (package sshconfig):
// ~/.ssh/config then /etc/ssh/ssh_config, or the single file of
// Options.ConfigFile, or none. As in OpenSSH, lines are evaluated in file
// order for each node: Host and Match lines switch blocks on and off
// (Match all, host, originalhost, user, localuser, exec, final, canonical
// and ! negation; Include anywhere), and the first value wins (IdentityFile, CertificateFile
// and SendEnv accumulate). Resolve turns a Spec into a Target: HostName,
// User, Port, IdentityFile, IdentitiesOnly, IdentityAgent, CertificateFile,
// ConnectTimeout, StrictHostKeyChecking, UserKnownHostsFile,
// GlobalKnownHostsFile, HashKnownHosts, HostKeyAlias, CheckHostIP,
// ServerAliveInterval, ServerAliveCountMax, ProxyCommand, ProxyJump, SetEnv,
// SendEnv, ForwardAgent, BatchMode, AddKeysToAgent and LogLevel, with
// OpenSSH's % tokens and defaults (except ServerAliveInterval: 5s). Explain
// lists those values with the file:line each came from. What drove cannot
// evaluate (unknown keywords, Match criteria such as localnetwork, options that change how ssh connects such as Ciphers or
// KnownHostsCommand) is reported once per Dialer through Options.Logf with
// file:line. docs/ssh.md lists each option and its test.
//
// # Authentication and host keys
//
// Keys come from ssh-agent (IdentityAgent, else Options.AgentSocket, else
// $SSH_AUTH_SOCK; one shared connection per socket) and the identity files;
// a key certified by CertificateFile or FILE-cert.pub is offered as the
// certificate first. Encrypted keys the agent does not hold are skipped with
// a note: drove never prompts. Host keys are checked as OpenSSH's
// check_host_key does (hostkey.go; package knownhosts reads the files): the name is HostKeyAlias
// or [HostName]:port (then the bare HostName), @cert-authority and @revoked
// lines apply, a certificate that is not accepted falls back to its plain
// key, malformed lines are skipped with one note, and CheckHostIP (default
// no) checks the address of direct non-loopback connections. An unknown key
// is refused ("yes"), recorded ("accept-new") or accepted ("no"); a changed
// or revoked key is always refused.
//
// # Dialing
//
// Dial never runs ssh(1); a ProxyCommand is run as ssh runs it and carries
// the connection on its stdin/stdout, its stderr going to Options.ProxyStderr
// prefixed with the node, and it is killed when the connection ends.
// ConnectTimeout bounds TCP connect (or the ProxyCommand) plus the whole
// handshake and authentication of each hop, ctx cancellation abandons a dial
// at once, and connections that sshd drops during key exchange (MaxStartups)
// are retried with backoff. Failures are *DialError (wrapping a
// *ProxyCommandError when the command failed), *HostKeyError or *AuthError,
// each reading "nodes: NODE: ...". Every session opened on a returned client
// carries the node's SetEnv/SendEnv variables and, with ForwardAgent, agent
// forwarding.
package nodes
