package nodes

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// khMarker is the marker of a known_hosts line.
type khMarker int

const (
	markNone    khMarker = iota
	markCA               // @cert-authority
	markRevoked          // @revoked
)

// khEntry is one usable known_hosts line.
type khEntry struct {
	file   string
	line   int
	marker khMarker
	hosts  []string // the comma-separated host field: patterns (with !negation) or one |1|salt|hash
	key    ssh.PublicKey
}

// khStatus is the result of looking a key up, as OpenSSH's HostStatus.
type khStatus int

const (
	khNew     khStatus = iota // nothing on file for the name
	khOK                      // the key (or, for a certificate, its CA) is on file
	khChanged                 // other keys are on file for the name
	khRevoked                 // the key or its CA is @revoked
)

// maxKnownHostsLine bounds one known_hosts line (OpenSSH's is 16 KiB; some
// RSA-16384 lines are longer).
const maxKnownHostsLine = 1 << 20

// readKnownHosts parses files in order, as OpenSSH's hostfile.c does. A line
// that cannot be parsed (bad key, bad hash, unknown marker, missing fields) is
// skipped and reported through bad with its file and line number, so one bad
// line never makes every host unreachable. Missing files are skipped.
func readKnownHosts(files []string, bad func(file string, line int, why string)) (*hostDB, error) {
	db := &hostDB{}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
		db.files = append(db.files, f)
		for n, line := range strings.Split(string(data), "\n") {
			line := bytes.TrimSpace([]byte(line))
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			if len(line) > maxKnownHostsLine {
				bad(f, n+1, fmt.Sprintf("line longer than %d bytes", maxKnownHostsLine))
				continue
			}
			e, err := parseKnownHostsLine(line)
			if err != nil {
				bad(f, n+1, err.Error())
				continue
			}
			e.file, e.line = f, n+1
			db.entries = append(db.entries, e)
		}
	}
	return db, nil
}

func parseKnownHostsLine(line []byte) (khEntry, error) {
	marker, hosts, key, _, _, err := ssh.ParseKnownHosts(line)
	if err != nil {
		return khEntry{}, err
	}
	e := khEntry{hosts: hosts, key: key}
	switch marker {
	case "":
	case "cert-authority":
		e.marker = markCA
	case "revoked":
		e.marker = markRevoked
	default:
		return khEntry{}, fmt.Errorf("unknown marker @%s", marker)
	}
	for _, h := range hosts {
		if h == "" {
			return khEntry{}, errors.New("empty host name")
		}
		if strings.HasPrefix(h, "|") {
			if len(hosts) != 1 {
				return khEntry{}, errors.New("hashed host name in a list")
			}
			if _, _, err := decodeHash(h); err != nil {
				return khEntry{}, err
			}
		}
	}
	return e, nil
}

// decodeHash splits "|1|salt|hash" (base64) into salt and hash.
func decodeHash(h string) (salt, hash []byte, err error) {
	parts := strings.Split(h, "|")
	if len(parts) != 4 || parts[0] != "" || parts[1] != "1" {
		return nil, nil, fmt.Errorf("bad hashed host name %q", h)
	}
	if salt, err = base64.StdEncoding.DecodeString(parts[2]); err != nil || len(salt) != sha1.Size {
		return nil, nil, fmt.Errorf("bad hashed host name salt %q", parts[2])
	}
	if hash, err = base64.StdEncoding.DecodeString(parts[3]); err != nil || len(hash) != sha1.Size {
		return nil, nil, fmt.Errorf("bad hashed host name hash %q", parts[3])
	}
	return salt, hash, nil
}

// matches reports whether the entry's host field matches name (already in
// known_hosts form: "host" or "[host]:port"), as OpenSSH's match_hostname:
// case-insensitive, * and ? wildcards, and a matching !pattern vetoes.
func (e *khEntry) matches(name string) bool {
	name = strings.ToLower(name)
	if len(e.hosts) == 1 && strings.HasPrefix(e.hosts[0], "|") {
		salt, hash, err := decodeHash(e.hosts[0])
		if err != nil {
			return false
		}
		m := hmac.New(sha1.New, salt)
		m.Write([]byte(name))
		return hmac.Equal(m.Sum(nil), hash)
	}
	return matchPatternList(name, e.hosts, true) == 1
}

// matchPatternList is OpenSSH's match_pattern_list: 1 when name matches a
// pattern and no negated one, -1 when a negated pattern matches, 0 when none
// matches.
func matchPatternList(name string, patterns []string, fold bool) int {
	if fold {
		name = strings.ToLower(name)
	}
	got := 0
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if fold {
			p = strings.ToLower(p)
		}
		if !wildcardMatch(name, p) {
			continue
		}
		if neg {
			return -1
		}
		got = 1
	}
	return got
}

// wildcardMatch matches s against an OpenSSH pattern where * is any run of
// characters and ? any one character.
func wildcardMatch(s, p string) bool {
	// Iterative matcher with backtracking to the last *, linear in practice.
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// lookup checks key for name, following OpenSSH's
// check_hostkeys_by_key_or_type: a plain key is compared with the plain
// entries for name (any other key there makes it khChanged); a certificate
// is accepted when an @cert-authority entry for name holds its signing key.
// A key (or its CA) marked @revoked for name is khRevoked. The entry returned
// is the matching, differing or revoking line.
func (db *hostDB) lookup(name string, key ssh.PublicKey) (khStatus, *khEntry) {
	cert, isCert := key.(*ssh.Certificate)
	want := markNone
	if isCert {
		want = markCA
	}
	st, found := khNew, (*khEntry)(nil)
	for i := range db.entries {
		e := &db.entries[i]
		if e.marker != want || !e.matches(name) {
			continue
		}
		if isCert {
			if keysEqual(cert.SignatureKey, e.key) {
				st, found = khOK, e
				break
			}
			continue
		}
		if keysEqual(key, e.key) {
			st, found = khOK, e
			break
		}
		st, found = khChanged, e
	}
	for i := range db.entries {
		e := &db.entries[i]
		if e.marker != markRevoked || !e.matches(name) {
			continue
		}
		if keysEqual(plainKey(key), e.key) || (isCert && keysEqual(cert.SignatureKey, e.key)) {
			return khRevoked, e
		}
	}
	return st, found
}

// hasCA reports whether an @cert-authority line applies to name.
func (db *hostDB) hasCA(name string) bool {
	for i := range db.entries {
		if e := &db.entries[i]; e.marker == markCA && e.matches(name) {
			return true
		}
	}
	return false
}

// plainKeys returns the plain keys on file for name.
func (db *hostDB) plainKeys(name string) []*khEntry {
	var out []*khEntry
	for i := range db.entries {
		if e := &db.entries[i]; e.marker == markNone && e.matches(name) {
			out = append(out, e)
		}
	}
	return out
}

func plainKey(k ssh.PublicKey) ssh.PublicKey {
	if c, ok := k.(*ssh.Certificate); ok {
		return c.Key
	}
	return k
}

func keysEqual(a, b ssh.PublicKey) bool {
	return a != nil && b != nil && bytes.Equal(a.Marshal(), b.Marshal())
}

// hostPortName is OpenSSH's put_host_port: host for port 22, else
// "[host]:port".
func hostPortName(host string, port int) string {
	if port == 22 {
		return host
	}
	return "[" + host + "]:" + strconv.Itoa(port)
}

// hostKeyName is the name OpenSSH looks t's key up under: HostKeyAlias as
// written if set, else the HostName with the port when it is not 22.
func hostKeyName(t *Target) string {
	if t.HostKeyAlias != "" {
		return t.HostKeyAlias
	}
	return hostPortName(t.HostName, t.Port)
}

// hostIPName is the name of the address actually connected to, for
// CheckHostIP, and whether the IP check applies: only for a direct TCP
// connection to an address that is not loopback and differs from the host
// name (OpenSSH turns the check off for localhost, proxied connections and
// hosts written as addresses).
func hostIPName(t *Target, remote net.Addr) (string, bool) {
	ta, ok := remote.(*net.TCPAddr)
	if !ok || ta.IP == nil || ta.IP.IsLoopback() || ta.IP.IsUnspecified() {
		return "", false
	}
	ip := ta.IP.String()
	if ip == t.HostName {
		return "", false
	}
	return hostPortName(ip, t.Port), true
}
