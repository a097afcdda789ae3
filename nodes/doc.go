// Package nodes turns the node list a user wrote into authenticated SSH
// connections for drove's runner.
//
// # Node specs and files
//
// A node is written [K/][user@]host[:port] (clstr syntax): K is the number of
// job slots (default 1), ":" is this machine (no SSH), IPv6 literals are
// written [::1] or [::1]:2222. ParseSpec parses one spec; ParseList a
// comma-separated list of specs with host ranges (node[01-64],
// rack[1-2]-n[01-16], a Slurm node list); ParseFile a file of one spec or
// list per line (# comments, blank lines and CRLF allowed); Merge folds
// repeated nodes into one with their slots summed, and Fold writes host names
// back in range form. Bad input gives a *SpecError naming file and line.
//
// # ssh_config
//
// A Dialer reads ssh_config once (kevinburke/ssh_config, with our own file
// handling, never its global DefaultUserSettings): ~/.ssh/config then
// /etc/ssh/ssh_config, or the single file of Options.ConfigFile, or none. The
// first value found wins, as in OpenSSH; IdentityFile accumulates. Honoured
// options, for the host as written (Host patterns with * ? and !negation):
//
//	HostName             %h and %% expanded
//	User, Port           the spec's user@ and :port win
//	IdentityFile         all of them; ~ %d %h %u %r %p %n %l %% expanded;
//	                     default id_rsa id_ecdsa id_ecdsa_sk id_ed25519 id_ed25519_sk
//	IdentitiesOnly       offer only those files' keys (via the agent if it holds them)
//	ConnectTimeout       default Options.ConnectTimeout, else 10s
//	StrictHostKeyChecking yes/ask (refuse unknown), accept-new, no/off
//	UserKnownHostsFile   space-separated, ~ and % expanded; default
//	                     ~/.ssh/known_hosts ~/.ssh/known_hosts2
//	GlobalKnownHostsFile read only; default /etc/ssh/ssh_known_hosts(2)
//	HashKnownHosts       accept-new writes the host name hashed
//	ServerAliveInterval  default 5s (OpenSSH's is 0); drove's runner sends the keepalives
//	ServerAliveCountMax  default 3
//	ProxyJump            comma-separated [user@]host[:port] chain or none; each
//	                     hop resolves through ssh_config (its own ProxyJump is
//	                     flattened into the chain, loops are errors)
//
// Everything else (Match, ProxyCommand, ControlMaster, Ciphers, CertificateFile,
// ...) is ignored. kevinburke/ssh_config cannot parse Match criteria other than
// all and host; a file it cannot parse is reported once through Options.Logf
// ("file:line:col: reason") and ignored. Include paths starting with ~ resolve
// against the real home directory (os/user), not Options.Home.
//
// # Authentication and host keys
//
// Keys come from ssh-agent (one shared connection, opened on first use) and
// the identity files. Encrypted keys the agent does not hold are skipped with a
// note: drove never prompts. Host keys are checked against known_hosts with
// x/crypto/ssh/knownhosts; the key types on file choose the host key algorithm.
// An unknown key is refused ("yes"), recorded ("accept-new") or accepted ("no");
// a changed or revoked key is always refused.
//
// # Dialing
//
// Dial never runs ssh(1). ConnectTimeout bounds TCP connect plus the whole
// handshake and authentication of each hop, ctx cancellation abandons a dial at
// once, and connections that sshd drops during key exchange (MaxStartups) are
// retried with backoff. Failures are *DialError, *HostKeyError or *AuthError,
// each reading "nodes: NODE: ...".
package nodes
