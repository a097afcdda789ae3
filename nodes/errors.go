package nodes

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// HostKeyError reports a host key that drove refused. Exactly one of Unknown,
// Changed, Revoked and IPDiffers is set. A changed or revoked key is refused
// whatever StrictHostKeyChecking says.
type HostKeyError struct {
	Node    string // the node (or "jump host for ..." hop) as named in messages
	Unknown bool   // no key on file for the host (and "yes", or accept-new could not record it)
	Changed bool   // a different key is on file for the host
	Revoked bool   // the key is marked @revoked
	// IPDiffers: with CheckHostIP, the key matches the host name's entry
	// (HostFile:HostLine) but a different key is on file for the address IP
	// (OldFile:OldLine).
	IPDiffers bool
	IP        string // "addr" or "[addr]:port", for IPDiffers
	HostFile  string
	HostLine  int
	Key       ssh.PublicKey // the key the server offered
	// Files lists the known_hosts files consulted (as displayed, ~ abbreviated).
	Files []string
	// OldFile and OldLine locate the key on file for a Changed or Revoked key.
	OldFile string
	OldLine int
	Err     error // underlying knownhosts error, or the error recording an accepted key

	recordFailed bool // accept-new could not write the key
}

// Error describes the refusal and what to do about it: "nodes: NODE: "
// and Reason.
func (e *HostKeyError) Error() string { return "nodes: " + e.Node + ": " + e.Reason() }

// Reason is the refusal without the node's name.
func (e *HostKeyError) Reason() string {
	fp := ""
	if e.Key != nil {
		fp = e.Key.Type() + " " + ssh.FingerprintSHA256(e.Key)
	}
	switch {
	case e.Changed && e.OldFile == "":
		return fmt.Sprintf("host key changed during this run: the server offered %s, another key than it offered before "+
			"(StrictHostKeyChecking no accepts a key unseen, then keeps it for the whole run; possible man-in-the-middle attack)", fp)
	case e.Changed:
		return fmt.Sprintf("host key changed: the server offered %s but %s:%d holds a different key for this host "+
			"(possible man-in-the-middle attack); if the change is expected, remove that line", fp, e.OldFile, e.OldLine)
	case e.Revoked:
		return fmt.Sprintf("host key %s is revoked (%s:%d)", fp, e.OldFile, e.OldLine)
	case e.IPDiffers:
		return fmt.Sprintf("the host key %s matches %s:%d but differs from the key for the IP address %s at %s:%d "+
			"(CheckHostIP); remove the stale line", fp, e.HostFile, e.HostLine, e.IP, e.OldFile, e.OldLine)
	case e.Unknown && e.recordFailed:
		return fmt.Sprintf("host key unknown and could not be recorded: %v", e.Err)
	default:
		return fmt.Sprintf("host key unknown (not in %s); to accept it set \"StrictHostKeyChecking accept-new\" "+
			"for this host in ssh_config", strings.Join(e.Files, ", "))
	}
}

// NewHost reports a key refused only because the host has none on file:
// accepting new keys (StrictHostKeyChecking accept-new) would let it in.
func (e *HostKeyError) NewHost() bool {
	return e.Unknown && !e.recordFailed && !e.Changed && !e.Revoked && !e.IPDiffers
}

// Unwrap returns the underlying error (a *knownhosts.KeyError, a
// *knownhosts.RevokedError or an I/O error), if any.
func (e *HostKeyError) Unwrap() error { return e.Err }

// AuthError reports that the server accepted none of the keys offered.
type AuthError struct {
	Node    string   // the node (or hop) as named in messages
	Offered []string // key sources offered: "agent" and identity file names (~ abbreviated)
	Skipped []string // encrypted identity files skipped because no agent holds them
	Err     error    // the error from x/crypto/ssh

	notAsked bool // the server never asked for a public key
}

// Error names the keys that were tried, e.g.
// "nodes: web1: no accepted key (tried agent, ~/.ssh/id_ed25519)".
func (e *AuthError) Error() string { return "nodes: " + e.Node + ": " + e.Reason() }

// Reason is Error without the node's name.
func (e *AuthError) Reason() string {
	var b strings.Builder
	switch {
	case e.notAsked:
		fmt.Fprintf(&b, "the server does not accept public-key authentication (%v)", e.Err)
		return b.String()
	case len(e.Offered) == 0:
		b.WriteString("no key to offer (no agent keys, no usable identity file)")
	default:
		fmt.Fprintf(&b, "no accepted key (tried %s)", strings.Join(e.Offered, ", "))
	}
	if len(e.Skipped) > 0 {
		fmt.Fprintf(&b, "; skipped encrypted %s (add it to ssh-agent)", strings.Join(e.Skipped, ", "))
	}
	return b.String()
}

// Unwrap returns the error from x/crypto/ssh.
func (e *AuthError) Unwrap() error { return e.Err }

// DialError reports a failure to reach a node: TCP connect, the SSH handshake
// or the connection through a jump host.
type DialError struct {
	Node    string        // the node (or hop) as named in messages
	Addr    string        // host:port dialled
	Err     error         // the cause (a net error, io.EOF, context.Canceled, ...)
	Timeout bool          // the connect timeout (TCP + handshake + auth) expired
	After   time.Duration // the connect timeout in force, for the message
	Proxy   string        // the ProxyCommand the connection went through, if any
}

// Error describes the failure, e.g. "nodes: web1: connect timeout after 10s
// (10.0.0.5:22)" or "nodes: web1: connection refused (10.0.0.5:22)".
func (e *DialError) Error() string { return "nodes: " + e.Node + ": " + e.Reason() }

// Reason is Error without the node's name.
func (e *DialError) Reason() string {
	var pe *ProxyCommandError
	switch {
	case e.Timeout && e.Proxy != "":
		return fmt.Sprintf("connect timeout after %s (ProxyCommand %q)", e.After, e.Proxy)
	case e.Timeout:
		return fmt.Sprintf("connect timeout after %s (%s)", e.After, e.Addr)
	case errors.As(e.Err, &pe):
		return fmt.Sprintf("%v", pe)
	case connRefused(e.Err):
		return fmt.Sprintf("connection refused (%s)", e.Addr)
	default:
		return fmt.Sprintf("%s: %v", e.Addr, e.Err)
	}
}

// Unwrap returns the cause.
func (e *DialError) Unwrap() error { return e.Err }

// ConfigError is a node whose ssh_config settings drove cannot use: a
// ProxyJump loop or chain too deep, ProxyJump and ProxyCommand both set,
// unreadable known_hosts files.
type ConfigError struct {
	Node string
	Err  error
}

func (e *ConfigError) Error() string  { return "nodes: " + e.Node + ": " + e.Err.Error() }
func (e *ConfigError) Reason() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error  { return e.Err }

// Retryable reports whether err is a dial failure worth retrying at once: the
// server dropped the connection (reset or EOF) before the handshake finished,
// which is how OpenSSH's MaxStartups sheds excess concurrent logins. Refused
// connections, timeouts, cancellation, host key and authentication failures
// are not retryable.
func Retryable(err error) bool {
	var de *DialError
	if !errors.As(err, &de) || de.Timeout {
		return false
	}
	var hk *HostKeyError
	var ae *AuthError
	var pe *ProxyCommandError
	if errors.As(err, &hk) || errors.As(err, &ae) || errors.As(err, &pe) || de.Proxy != "" {
		return false
	}
	if connRefused(de.Err) {
		return false
	}
	if errors.Is(de.Err, io.EOF) || errors.Is(de.Err, io.ErrUnexpectedEOF) ||
		connDropped(de.Err) {
		return true
	}
	var ne net.Error
	if errors.As(de.Err, &ne) && ne.Timeout() {
		return false
	}
	// x/crypto sometimes flattens the cause into the message.
	msg := de.Err.Error()
	return strings.HasSuffix(msg, ": EOF") || msg == "EOF" ||
		strings.Contains(msg, "connection reset by peer") || strings.Contains(msg, "Connection closed by remote host")
}
