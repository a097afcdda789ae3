package nodes

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/drove-dev/drove/hostlist"
)

// Target is a node resolved through ssh_config: everything needed to dial it.
type Target struct {
	Spec           hostlist.Spec
	Alias          string   // the host as written (what ssh_config Host patterns match)
	HostName       string   // after ssh_config HostName (with %h expanded)
	Port           int      // spec port, else ssh_config Port, else 22
	User           string   // spec user, else ssh_config User, else the current user
	IdentityFiles  []string // expanded (~ %d %h %u %r %p %n %l %%); OpenSSH's default list when none set
	IdentitiesOnly bool     // offer only keys from IdentityFiles (agent keys must match one)
	// CertificateFiles is ssh_config CertificateFile, expanded like
	// IdentityFile: user certificates offered with the identity-file or
	// agent key they certify (FILE-cert.pub next to an identity file is
	// always tried too, as ssh does).
	CertificateFiles    []string
	ConnectTimeout      time.Duration // TCP connect + SSH handshake + auth
	ServerAliveInterval time.Duration // ssh_config ServerAliveInterval, else 5s; 0 = no keepalives
	ServerAliveCountMax int           // ssh_config ServerAliveCountMax, else 3
	// StrictHostKeyChecking is "yes", "accept-new" or "no" ("ask" -> "yes",
	// "off" -> "no").
	StrictHostKeyChecking string
	// KnownHostsFiles is UserKnownHostsFile split on spaces and expanded;
	// missing files are fine. accept-new appends to the first one.
	KnownHostsFiles []string
	// HashKnownHosts is ssh_config HashKnownHosts: accept-new writes the host
	// name hashed.
	HashKnownHosts bool
	// GlobalKnownHostsFiles is GlobalKnownHostsFile (default
	// /etc/ssh/ssh_known_hosts and ssh_known_hosts2), consulted but never
	// written.
	GlobalKnownHostsFiles []string
	// HostKeyAlias is ssh_config HostKeyAlias: the name host keys are looked
	// up and recorded under instead of HostName ("" = none).
	HostKeyAlias string
	// CheckHostIP is ssh_config CheckHostIP (default no, as OpenSSH since
	// 8.5): also look the key up under the address connected to.
	CheckHostIP bool
	// IdentityAgent is ssh_config IdentityAgent, expanded: the agent socket
	// for this host ("none" = no agent; "" = Options.AgentSocket or
	// $SSH_AUTH_SOCK).
	IdentityAgent string
	// ProxyCommand is ssh_config ProxyCommand with its % tokens expanded, run
	// with "sh -c" to carry the connection; "" = none (also for "none").
	ProxyCommand string
	// SetEnv is ssh_config SetEnv: NAME=VALUE pairs sent with every session
	// opened on the client Dial returns.
	SetEnv []string
	// SendEnv is ssh_config SendEnv: patterns of local environment
	// variables sent with every session (see SessionEnv).
	SendEnv []string
	// ForwardAgent is ssh_config ForwardAgent; ForwardAgentSocket is the
	// socket when the value names one ("" = the agent used for auth).
	ForwardAgent       bool
	ForwardAgentSocket string
	// BatchMode is accepted: drove never prompts.
	BatchMode bool
	// AddKeysToAgent is "no": drove never adds keys (other values are noted).
	AddKeysToAgent string
	// LogLevel is ssh_config LogLevel (QUIET ... DEBUG3), default INFO; it
	// governs drove's own notes about this host.
	LogLevel string
	// ProxyJump is the ProxyJump value in force as written ("" = none).
	ProxyJump string
	// Jump is the ProxyJump chain, first hop first, each hop resolved through
	// ssh_config itself (a hop's own ProxyJump is flattened into the chain);
	// nil when there is none.
	Jump []*Target
}

// Addr returns net.JoinHostPort(HostName, Port).
func (t *Target) Addr() string { return net.JoinHostPort(t.HostName, strconv.Itoa(t.Port)) }

// String returns the short human name used in messages: Spec.Key(), e.g.
// "alice@web1:2222" or "web1".
func (t *Target) String() string { return t.Spec.Key() }

// normStrict maps an ssh_config StrictHostKeyChecking value to "yes",
// "accept-new" or "no".
func normStrict(v string) (string, bool) {
	switch strings.ToLower(v) {
	case "yes", "ask", "":
		return "yes", true
	case "accept-new":
		return "accept-new", true
	case "no", "off":
		return "no", true
	}
	return "yes", false
}
