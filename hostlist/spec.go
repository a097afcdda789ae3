package hostlist

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// LocalHost is the Host of a Spec that names this machine; such a node runs jobs
// without SSH.
const LocalHost = ":"

// maxSlots bounds K in "K/host" so that slot arithmetic cannot overflow.
const maxSlots = 1 << 20

// Spec is one node as the user wrote it: [K/][user@]host[:port]. Host ":" means
// this machine (no SSH).
type Spec struct {
	Slots int    // K from "K/...", 1 when absent; must be >= 1
	User  string // "" when not given
	Host  string // ":" for the local machine; IPv6 literals as [::1] or [::1]:2222 accepted, stored without brackets
	Port  int    // 0 when not given; 1..65535 otherwise
}

// Local reports whether the spec names this machine (Host == ":").
func (s Spec) Local() bool { return s.Host == LocalHost }

// Key returns the identity of the node regardless of slots: "user@host:port"
// with empty parts omitted, and ":" for the local machine. An IPv6 host is
// bracketed when a port follows it ("[::1]:2222") and bare otherwise ("::1").
// ParseSpec(s.Key()) yields s with Slots 1.
func (s Spec) Key() string {
	if s.Local() {
		return LocalHost
	}
	var b strings.Builder
	if s.User != "" {
		b.WriteString(s.User)
		b.WriteByte('@')
	}
	if s.Port != 0 {
		b.WriteString(net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))
	} else {
		b.WriteString(s.Host)
	}
	return b.String()
}

// String returns the spec as the user would write it: Key with a "K/" prefix
// when Slots > 1. ParseSpec(s.String()) yields s.
func (s Spec) String() string {
	if s.Slots > 1 {
		return strconv.Itoa(s.Slots) + "/" + s.Key()
	}
	return s.Key()
}

// SpecError reports a node spec that could not be parsed. File and Line are set
// by ParseFile; ParseSpec leaves them empty.
type SpecError struct {
	File string // node file name as given to ParseFile; "" for a spec from the command line
	Line int    // 1-based line in File; 0 when unknown
	Spec string // the offending text (after comment stripping and trimming)
	Err  error  // the reason
}

// Error returns "FILE:LINE: bad node spec \"SPEC\": reason", without the
// "FILE:LINE: " part when File is empty.
func (e *SpecError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	fmt.Fprintf(&b, "bad node spec %q: %v", e.Spec, e.Err)
	return b.String()
}

// Unwrap returns the reason.
func (e *SpecError) Unwrap() error { return e.Err }

func specErr(s, format string, args ...any) error {
	return &SpecError{Spec: s, Err: fmt.Errorf(format, args...)}
}

// ParseSpec parses one node spec, [K/][user@]host[:port], after trimming
// surrounding white space. The host ":" (optionally "K/:") is this machine and
// takes no user or port. IPv6 literals are written [::1], [::1]:2222 or bare
// ::1 (no port) and stored without brackets. The user is everything before the
// last "@", as in OpenSSH. Bad input (empty, bad or zero K, empty user, bad
// characters, a port that is not a number in 1..65535) gives a *SpecError.
//
// On systems where this machine cannot run jobs (Windows: see localJobs),
// the host ":" gives a *SpecError wrapping ErrLocalUnsupported.
func ParseSpec(s string) (Spec, error) { return parseSpec(s, localJobs) }

// ErrLocalUnsupported is the reason in the *SpecError for a ":" node on a
// system where this machine cannot run jobs (Windows): drove runs local
// jobs under a POSIX shell with process groups; nodes over SSH need
// nothing POSIX here.
var ErrLocalUnsupported = errors.New(`this machine (":") cannot run jobs on this operating system; list nodes reached over SSH`)

// parseSpec is ParseSpec; localOK says whether ":" is allowed.
func parseSpec(s string, localOK bool) (Spec, error) {
	s = strings.TrimSpace(s)
	orig := s
	if s == "" {
		return Spec{}, specErr(orig, "empty")
	}
	spec := Spec{Slots: 1}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		k, rest := s[:i], s[i+1:]
		if k == "" || strings.Trim(k, "0123456789") != "" {
			return Spec{}, specErr(orig, "bad slot count %q", k)
		}
		n, err := strconv.Atoi(k)
		if err != nil || n > maxSlots {
			return Spec{}, specErr(orig, "slot count %s too large (max %d)", k, maxSlots)
		}
		if n < 1 {
			return Spec{}, specErr(orig, "slot count must be at least 1")
		}
		spec.Slots = n
		s = rest
		if s == "" {
			return Spec{}, specErr(orig, "empty host")
		}
	}
	if s == LocalHost {
		if !localOK {
			return Spec{}, &SpecError{Spec: orig, Err: ErrLocalUnsupported}
		}
		spec.Host = LocalHost
		return spec, nil
	}
	hostport := s
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		spec.User, hostport = s[:i], s[i+1:]
		if spec.User == "" {
			return Spec{}, specErr(orig, "empty user")
		}
		if err := checkUser(spec.User); err != nil {
			return Spec{}, specErr(orig, "%v", err)
		}
		if hostport == LocalHost {
			return Spec{}, specErr(orig, "the local node %q takes no user", LocalHost)
		}
	}
	host, port, err := splitHostPort(hostport)
	if err != nil {
		return Spec{}, specErr(orig, "%v", err)
	}
	spec.Host, spec.Port = host, port
	return spec, nil
}

// splitHostPort splits host[:port], [v6]:port, [v6] or a bare v6 literal.
func splitHostPort(s string) (string, int, error) {
	var host, port string
	hasPort := false
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("missing ']' after IPv6 address")
		}
		host = s[1:end]
		rest := s[end+1:]
		if !strings.Contains(host, ":") {
			return "", 0, fmt.Errorf("brackets are only for IPv6 addresses")
		}
		switch {
		case rest == "":
		case rest[0] == ':':
			port, hasPort = rest[1:], true
		default:
			return "", 0, fmt.Errorf("unexpected %q after ']'", rest)
		}
	case strings.Count(s, ":") == 1:
		i := strings.IndexByte(s, ':')
		host, port, hasPort = s[:i], s[i+1:], true
	default:
		host = s // a name, an IPv4 address or a bare IPv6 literal
	}
	if err := checkHost(host); err != nil {
		return "", 0, err
	}
	if !hasPort {
		return host, 0, nil
	}
	p, err := ParsePort(port)
	return host, p, err
}

func ParsePort(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty port")
	}
	if strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad port %q", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port out of range")
	}
	return n, nil
}

func checkHost(h string) error {
	if h == "" {
		return fmt.Errorf("empty host")
	}
	if h[0] == '-' {
		return fmt.Errorf("host starts with '-'")
	}
	v6 := strings.Contains(h, ":")
	zone := false
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
		case v6 && r == ':' && !zone:
		case v6 && r == '%' && !zone:
			zone = true
		default:
			return fmt.Errorf("bad character %q in host", r)
		}
	}
	if v6 && net.ParseIP(strings.SplitN(h, "%", 2)[0]) == nil {
		return fmt.Errorf("bad IPv6 address %q", h)
	}
	return nil
}

// checkUser allows a conservative set of characters, and refuses what
// OpenSSH refuses in a user name given on the command line: a leading '-'
// and, since CVE-2023-51385, a backslash at the end (it would escape what a
// ProxyCommand or Match exec puts after %r).
func checkUser(u string) error {
	if u[0] == '-' {
		return fmt.Errorf("user starts with '-'")
	}
	if strings.HasSuffix(u, "\\") {
		return fmt.Errorf("user ends with '\\', which OpenSSH refuses (CVE-2023-51385)")
	}
	for _, r := range u {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("._-@\\$+~", r):
		default:
			return fmt.Errorf("bad character %q in user", r)
		}
	}
	return nil
}

// Merge returns specs with equal Key() merged into one entry whose Slots is the
// sum, in first-seen order (as in clstr, a host listed twice gets two slots).
// A Slots value below 1 counts as 1. The input is not modified.
func Merge(specs []Spec) []Spec {
	out := make([]Spec, 0, len(specs))
	at := make(map[string]int, len(specs))
	for _, s := range specs {
		n := max(s.Slots, 1)
		if i, ok := at[s.Key()]; ok {
			out[i].Slots = min(out[i].Slots+n, maxSlots)
			continue
		}
		s.Slots = n
		at[s.Key()] = len(out)
		out = append(out, s)
	}
	return out
}
