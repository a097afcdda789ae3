// Package knownhosts reads OpenSSH known_hosts files and looks host keys up
// in them as OpenSSH's hostfile.c does: hashed host names, patterns with
// !negation, and @cert-authority and @revoked markers. A Store caches the
// parsed files and records newly accepted keys. It makes no policy decision
// (StrictHostKeyChecking belongs to the dialer).
package knownhosts

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/drove-dev/drove/internal/sshpattern"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// Marker is the marker of a known_hosts line.
type Marker int

const (
	MarkNone    Marker = iota
	MarkCA             // @cert-authority
	MarkRevoked        // @revoked
)

// Entry is one usable known_hosts line.
type Entry struct {
	File   string
	Line   int
	Marker Marker
	Hosts  []string // the comma-separated host field: patterns (with !negation) or one |1|salt|hash
	Key    ssh.PublicKey
}

// Status is the result of looking a key up, as OpenSSH's HostStatus.
type Status int

const (
	New     Status = iota // nothing on file for the name
	OK                    // the key (or, for a certificate, its CA) is on file
	Changed               // other keys are on file for the name
	Revoked               // the key or its CA is @revoked
)

// DB is a parsed set of known_hosts files.
type DB struct {
	entries []Entry
	files   []string // the files that existed, in order
}

// Files returns the files that existed when db was read, in order.
func (db *DB) Files() []string { return db.files }

// MaxLineLen bounds one known_hosts line (OpenSSH's is 16 KiB; some
// RSA-16384 lines are longer).
const MaxLineLen = 1 << 20

// Read parses files in order, as OpenSSH's hostfile.c does. A line
// that cannot be parsed (bad key, bad hash, unknown marker, missing fields) is
// skipped and reported through bad with its file and line number, so one bad
// line never makes every host unreachable. Missing files are skipped.
func Read(files []string, bad func(file string, line int, why string)) (*DB, error) {
	db := &DB{}
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
			if len(line) > MaxLineLen {
				bad(f, n+1, fmt.Sprintf("line longer than %d bytes", MaxLineLen))
				continue
			}
			e, err := ParseLine(line)
			if err != nil {
				bad(f, n+1, err.Error())
				continue
			}
			e.File, e.Line = f, n+1
			db.entries = append(db.entries, e)
		}
	}
	return db, nil
}

// ParseLine parses one known_hosts line (without file and line number).
func ParseLine(line []byte) (Entry, error) {
	marker, hosts, key, _, _, err := ssh.ParseKnownHosts(line)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Hosts: hosts, Key: key}
	switch marker {
	case "":
	case "cert-authority":
		e.Marker = MarkCA
	case "revoked":
		e.Marker = MarkRevoked
	default:
		return Entry{}, fmt.Errorf("unknown marker @%s", marker)
	}
	for _, h := range hosts {
		if h == "" {
			return Entry{}, errors.New("empty host name")
		}
		if strings.HasPrefix(h, "|") {
			if len(hosts) != 1 {
				return Entry{}, errors.New("hashed host name in a list")
			}
			if _, _, err := decodeHash(h); err != nil {
				return Entry{}, err
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

// Matches reports whether the entry's host field matches name (already in
// known_hosts form: "host" or "[host]:port"), as OpenSSH's match_hostname:
// case-insensitive, * and ? wildcards, and a matching !pattern vetoes.
func (e *Entry) Matches(name string) bool {
	name = strings.ToLower(name)
	if len(e.Hosts) == 1 && strings.HasPrefix(e.Hosts[0], "|") {
		salt, hash, err := decodeHash(e.Hosts[0])
		if err != nil {
			return false
		}
		m := hmac.New(sha1.New, salt)
		m.Write([]byte(name))
		return hmac.Equal(m.Sum(nil), hash)
	}
	return sshpattern.MatchList(name, e.Hosts, true) == 1
}

// Lookup checks key for name, following OpenSSH's
// check_hostkeys_by_key_or_type: a plain key is compared with the plain
// entries for name (any other key there makes it Changed); a certificate
// is accepted when an @cert-authority entry for name holds its signing key.
// A key (or its CA) marked @revoked for name is Revoked. The entry returned
// is the matching, differing or revoking line.
func (db *DB) Lookup(name string, key ssh.PublicKey) (Status, *Entry) {
	cert, isCert := key.(*ssh.Certificate)
	want := MarkNone
	if isCert {
		want = MarkCA
	}
	st, found := New, (*Entry)(nil)
	for i := range db.entries {
		e := &db.entries[i]
		if e.Marker != want || !e.Matches(name) {
			continue
		}
		if isCert {
			if keysEqual(cert.SignatureKey, e.Key) {
				st, found = OK, e
				break
			}
			continue
		}
		if keysEqual(key, e.Key) {
			st, found = OK, e
			break
		}
		st, found = Changed, e
	}
	for i := range db.entries {
		e := &db.entries[i]
		if e.Marker != MarkRevoked || !e.Matches(name) {
			continue
		}
		if keysEqual(plainKey(key), e.Key) || (isCert && keysEqual(cert.SignatureKey, e.Key)) {
			return Revoked, e
		}
	}
	return st, found
}

// HasCA reports whether an @cert-authority line applies to name.
func (db *DB) HasCA(name string) bool {
	for i := range db.entries {
		if e := &db.entries[i]; e.Marker == MarkCA && e.Matches(name) {
			return true
		}
	}
	return false
}

// PlainKeys returns the plain keys on file for name.
func (db *DB) PlainKeys(name string) []*Entry {
	var out []*Entry
	for i := range db.entries {
		if e := &db.entries[i]; e.Marker == MarkNone && e.Matches(name) {
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

// HostPortName is OpenSSH's put_host_port: host for port 22, else
// "[host]:port".
func HostPortName(host string, port int) string {
	if port == 22 {
		return host
	}
	return "[" + host + "]:" + strconv.Itoa(port)
}

// HashHostname returns name in OpenSSH's hashed form (|1|salt|hash), as
// written with HashKnownHosts.
func HashHostname(name string) string { return xknownhosts.HashHostname(name) }
