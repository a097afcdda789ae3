package nodes

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/sshconfig"
)

// Defaults used when neither ssh_config nor Options say otherwise.
const (
	DefaultConnectTimeout      = 10 * time.Second
	DefaultServerAliveInterval = 5 * time.Second
	DefaultServerAliveCountMax = 3
	DefaultDialAttempts        = 6
)

// defaultIdentityFiles is OpenSSH's list (ssh_config(5) IdentityFile), tried in
// order when ssh_config names none.
var defaultIdentityFiles = [...]string{"id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk"}

// maxJumpDepth bounds ProxyJump chains (including hops' own ProxyJump).
const maxJumpDepth = 8

// Options configure resolution and dialing. The zero value means the user's
// real ~/.ssh/config, known_hosts and agent.
type Options struct {
	// ConfigFile is ssh -F: "" = ~/.ssh/config then /etc/ssh/ssh_config (missing
	// files are fine); "none" = no config file at all; else that file only (it
	// must exist).
	ConfigFile string
	// Home is the home directory for ~ expansion and the default file
	// locations; "" = os.UserHomeDir().
	Home string
	// AgentSocket is the ssh-agent socket: nil = $SSH_AUTH_SOCK; a pointer to
	// "" = no agent.
	AgentSocket *string
	// StrictHostKeyChecking overrides ssh_config for every node: "" (use
	// ssh_config, whose default "ask" is treated as "yes"), "yes",
	// "accept-new" or "no". A changed host key is refused in every mode.
	StrictHostKeyChecking string
	// ConnectTimeout is used when ssh_config sets no ConnectTimeout; 0 = 10s.
	// It bounds the TCP connect and the whole SSH handshake including auth.
	ConnectTimeout time.Duration
	// Jump is a ProxyJump value ("[user@]host[:port]" hops separated by
	// commas) for every node whose ssh_config sets no ProxyJump; "" = none.
	// An explicit "ProxyJump none" in ssh_config exempts a host.
	Jump string
	// DialAttempts is the number of tries per connection for retryable
	// failures (see Retryable); 0 = DefaultDialAttempts. Tries are spaced by a jittered
	// exponential backoff starting near 100ms.
	DialAttempts int
	// MaxHandshakes bounds the SSH handshakes in progress at once, from
	// the server's first bytes to the end of authentication (the part that
	// costs CPU); 0 = DefaultMaxHandshakes. TCP connects and servers that
	// have not spoken yet are not bounded, and the wait for a slot does not
	// count against ConnectTimeout.
	MaxHandshakes int
	// ProxyStderr receives what ProxyCommands write to stderr, each line
	// prefixed with "NODE: "; nil = discarded. Writes are serialised with
	// Logf calls.
	ProxyStderr io.Writer
	// Logf receives one-line notes (encrypted key skipped, ssh_config parse
	// problem). It may be called from several goroutines, one call at a time.
	// nil = discard.
	Logf func(format string, args ...any)
}

// Resolve applies ssh_config (and Options) to spec. Values in the spec (user@,
// :port) beat ssh_config. A local spec (":") resolves to a Target with only
// Spec, Alias and HostName set; it cannot be dialled. Errors name the node and
// come from bad ssh_config values that cannot be ignored safely (a bad
// ProxyJump or a ProxyJump loop).
func (d *Dialer) Resolve(spec hostlist.Spec) (*Target, error) {
	if spec.Slots < 1 {
		spec.Slots = 1
	}
	if spec.Local() {
		return &Target{Spec: spec, Alias: hostlist.LocalHost, HostName: hostlist.LocalHost}, nil
	}
	return d.resolve(spec, nil)
}

// resolve resolves spec; path holds the keys of the nodes whose ProxyJump led
// here (nil for a node itself), for loop detection.
func (d *Dialer) resolve(spec hostlist.Spec, path []string) (*Target, error) {
	alias := spec.Host
	cfg := d.cfg.Eval(&d.cfgEnv, spec.Host, spec.User, spec.Port)
	node := spec.Key()
	quiet := false
	if lv, ok := sshconfig.ParseLogLevel(cfg.Get("LogLevel")); ok {
		quiet = sshconfig.LogLevelRank(lv) < sshconfig.LogLevelRank("INFO")
	}
	note := func(key, val string, err error) {
		if !quiet {
			d.logf("nodes: %s: ignoring ssh_config %s %q: %v", node, key, val, err)
		}
	}
	// yesNo sets *dst from a yes/no option when the config sets it (false,
	// noted, for any other value).
	yesNo := func(key string, dst *bool) {
		if v := cfg.Get(key); v != "" {
			b, ok := sshconfig.ParseYesNo(v)
			if !ok {
				note(key, v, fmt.Errorf("want yes or no"))
			}
			*dst = b
		}
	}
	t := &Target{Spec: spec, Alias: alias, HostName: alias, Port: 22, User: d.localUser}

	if v := cfg.Get("HostName"); v != "" {
		h, err := sshconfig.ExpandTokens(v, map[byte]string{'h': alias, 'n': alias})
		if err != nil {
			note("HostName", v, err)
		} else {
			t.HostName = h
		}
	}
	// ssh lowercases the host name it connects to and checks keys under
	// (Host patterns still see the host as written).
	t.HostName = strings.ToLower(t.HostName)
	if spec.Port != 0 {
		t.Port = spec.Port
	} else if v := cfg.Get("Port"); v != "" {
		if p, err := hostlist.ParsePort(v); err != nil {
			note("Port", v, err)
		} else {
			t.Port = p
		}
	}
	if spec.User != "" {
		t.User = spec.User
	} else if v := cfg.Get("User"); v != "" {
		t.User = v
	}

	tok := map[byte]string{
		'h': t.HostName, 'p': strconv.Itoa(t.Port), 'r': t.User, 'n': alias,
		'u': d.localUser, 'd': d.home, 'l': d.localHost,
	}
	expandPath := func(key, v string) (string, bool) {
		e, err := sshconfig.ExpandTokens(v, tok)
		if err != nil {
			note(key, v, err)
			return "", false
		}
		return sshconfig.ExpandTilde(e, d.home), true
	}

	for _, v := range cfg.GetAll("IdentityFile") {
		if p, ok := expandPath("IdentityFile", v); ok && !containsStr(t.IdentityFiles, p) {
			t.IdentityFiles = append(t.IdentityFiles, p)
		}
	}
	if len(t.IdentityFiles) == 0 {
		for _, f := range defaultIdentityFiles {
			t.IdentityFiles = append(t.IdentityFiles, filepath.Join(d.home, ".ssh", f))
		}
	}
	for _, v := range cfg.GetAll("CertificateFile") {
		if p, ok := expandPath("CertificateFile", v); ok && !containsStr(t.CertificateFiles, p) {
			t.CertificateFiles = append(t.CertificateFiles, p)
		}
	}
	if v := cfg.Get("IdentityAgent"); v != "" {
		switch {
		case strings.EqualFold(v, "none"):
			t.IdentityAgent = "none"
		case v == "SSH_AUTH_SOCK":
			t.IdentityAgent = os.Getenv("SSH_AUTH_SOCK")
			if t.IdentityAgent == "" {
				t.IdentityAgent = "none"
			}
		case strings.HasPrefix(v, "$"):
			t.IdentityAgent = os.Getenv(v[1:])
			if t.IdentityAgent == "" {
				note("IdentityAgent", v, fmt.Errorf("environment variable %s is not set", v[1:]))
				t.IdentityAgent = "none"
			}
		default:
			if p, ok := expandPath("IdentityAgent", v); ok {
				t.IdentityAgent = p
			}
		}
	}
	yesNo("IdentitiesOnly", &t.IdentitiesOnly)

	t.ConnectTimeout = d.connectTimeout
	if v := cfg.Get("ConnectTimeout"); v != "" {
		if s, err := sshconfig.ParseSeconds(v); err != nil || s == 0 {
			note("ConnectTimeout", v, fmt.Errorf("want a positive number of seconds"))
		} else {
			t.ConnectTimeout = s
		}
	}
	t.ServerAliveInterval = DefaultServerAliveInterval
	if v := cfg.Get("ServerAliveInterval"); v != "" {
		if s, err := sshconfig.ParseSeconds(v); err != nil {
			note("ServerAliveInterval", v, err)
		} else {
			t.ServerAliveInterval = s
		}
	}
	t.ServerAliveCountMax = DefaultServerAliveCountMax
	if v := cfg.Get("ServerAliveCountMax"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			note("ServerAliveCountMax", v, fmt.Errorf("want a positive number"))
		} else {
			t.ServerAliveCountMax = n
		}
	}

	t.StrictHostKeyChecking = d.strict
	if d.strict == "" {
		v := cfg.Get("StrictHostKeyChecking")
		s, ok := normStrict(v)
		if !ok {
			note("StrictHostKeyChecking", v, fmt.Errorf("treating it as \"yes\""))
		}
		t.StrictHostKeyChecking = s
	}

	ukh := cfg.GetArgs("UserKnownHostsFile")
	if len(ukh) == 0 {
		ukh = []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}
	}
	t.KnownHostsFiles = d.fileList("UserKnownHostsFile", ukh, expandPath)
	yesNo("HashKnownHosts", &t.HashKnownHosts)
	if v := cfg.Get("HostKeyAlias"); v != "" && !strings.EqualFold(v, "none") {
		t.HostKeyAlias = v
	}
	yesNo("CheckHostIP", &t.CheckHostIP)
	gkh := cfg.GetArgs("GlobalKnownHostsFile")
	if len(gkh) == 0 {
		gkh = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	}
	t.GlobalKnownHostsFiles = d.fileList("GlobalKnownHostsFile", gkh, expandPath)

	if err := d.resolveProxy(t, cfg, tok, node, path); err != nil {
		return nil, err
	}
	d.resolveSession(t, cfg, note)
	return t, nil
}

// fileList expands a list of files; "none" means no files.
func (d *Dialer) fileList(key string, v []string, expand func(string, string) (string, bool)) []string {
	var out []string
	for _, f := range v {
		if strings.EqualFold(f, "none") {
			continue
		}
		if p, ok := expand(key, f); ok {
			out = append(out, p)
		}
	}
	return out
}

// resolveJump parses a ProxyJump value and resolves each hop, flattening the
// first hop's own ProxyJump chain in front of it.
func (d *Dialer) resolveJump(node, value string, path []string) ([]*Target, error) {
	if len(path) > maxJumpDepth {
		return nil, &ConfigError{Node: node, Err: fmt.Errorf("ProxyJump chain deeper than %d hops", maxJumpDepth)}
	}
	var chain []*Target
	for i, hop := range strings.Split(value, ",") {
		hop = strings.TrimSpace(hop)
		hop = strings.TrimPrefix(hop, "ssh://")
		spec, err := hostlist.ParseSpec(hop)
		if err == nil && (spec.Local() || spec.Slots != 1 || strings.Contains(hop, "/")) {
			err = fmt.Errorf("not [user@]host[:port]")
		}
		if err != nil {
			return nil, &ConfigError{Node: node, Err: fmt.Errorf("bad ProxyJump hop %q: %w", hop, err)}
		}
		if containsStr(path, spec.Key()) {
			return nil, &ConfigError{Node: node, Err: fmt.Errorf("ProxyJump loop: %s -> %s", strings.Join(path, " -> "), spec.Key())}
		}
		ht, err := d.resolve(spec, path)
		if err != nil {
			return nil, err
		}
		// As ssh runs "ssh -J HOP1,... -W NODE HOPn": only the first hop
		// goes its own way (its ProxyJump or ProxyCommand); the later
		// hops are reached through the earlier ones whatever their own
		// config says.
		if i == 0 {
			chain = append(chain, ht.Jump...)
		} else {
			ht.ProxyCommand, ht.ProxyJump = "", ""
		}
		ht.Jump = nil
		chain = append(chain, ht)
	}
	return chain, nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// currentUser returns the local user name for the default remote user and %u.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}
