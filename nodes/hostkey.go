package nodes

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostDB is a parsed set of known_hosts files.
type hostDB struct {
	check ssh.HostKeyCallback
	files []string // the files that existed, in order
}

// knownHosts returns the host key database for t's files, parsed once and
// cached until this Dialer appends to a file. Missing files are skipped; a file
// that cannot be parsed is an error naming it and the line.
func (d *Dialer) knownHosts(t *Target) (*hostDB, error) {
	all := append(append([]string(nil), t.KnownHostsFiles...), t.GlobalKnownHostsFiles...)
	cacheKey := strings.Join(all, "\x00")
	d.khMu.Lock()
	defer d.khMu.Unlock()
	if db, ok := d.khCache[cacheKey]; ok {
		return db, nil
	}
	db := &hostDB{}
	for _, f := range all {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			db.files = append(db.files, f)
		}
	}
	cb, err := knownhosts.New(db.files...)
	if err != nil {
		return nil, err
	}
	db.check = cb
	d.khCache[cacheKey] = db
	return db, nil
}

// hostAddrs returns the addresses under which t's key is looked up:
// HostName:Port and, if different, Alias:Port.
func hostAddrs(t *Target) []string {
	port := strconv.Itoa(t.Port)
	addrs := []string{net.JoinHostPort(t.HostName, port)}
	if t.Alias != t.HostName {
		addrs = append(addrs, net.JoinHostPort(t.Alias, port))
	}
	return addrs
}

// placeholderKey matches no real key; looking it up returns every key on file
// for a host in KeyError.Want.
type placeholderKey struct{}

func (placeholderKey) Type() string                                 { return "placeholder@drove" }
func (placeholderKey) Marshal() []byte                              { return []byte("placeholder@drove") }
func (placeholderKey) Verify(data []byte, sig *ssh.Signature) error { return errors.New("placeholder") }

// hostKeyAlgorithms returns ClientConfig.HostKeyAlgorithms for t: the
// algorithms of the keys on file for the host first (ssh-rsa as rsa-sha2-512,
// rsa-sha2-256, ssh-rsa), then every other supported algorithm. A server with
// several host keys then offers the one we can verify (golang/go#49631), and a
// server that lost that key type still gets as far as a "changed key" error.
// nil (x/crypto defaults) when the host is unknown.
func (db *hostDB) hostKeyAlgorithms(t *Target) []string {
	var algos []string
	addAlgo := func(a ...string) {
		for _, x := range a {
			if !containsStr(algos, x) {
				algos = append(algos, x)
			}
		}
	}
	remote := &net.TCPAddr{IP: net.IPv4zero, Port: t.Port}
	for _, addr := range hostAddrs(t) {
		var ke *knownhosts.KeyError
		if err := db.check(addr, remote, placeholderKey{}); !errors.As(err, &ke) {
			continue
		}
		for _, k := range ke.Want {
			switch typ := k.Key.Type(); typ {
			case ssh.KeyAlgoRSA:
				addAlgo(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
			default:
				addAlgo(typ)
			}
		}
	}
	if algos == nil {
		return nil
	}
	addAlgo(ssh.SupportedAlgorithms().HostKeys...)
	return algos
}

// hostKeyCallback returns the callback for dialling t, named node in errors.
// A refusal is also stored in st so the caller can return the typed error
// rather than x/crypto's wrapping of it.
func (d *Dialer) hostKeyCallback(t *Target, db *hostDB, node string, st *dialState) ssh.HostKeyCallback {
	return func(_ string, remote net.Addr, key ssh.PublicKey) error {
		err := d.checkHostKey(t, db, node, remote, key)
		if err != nil {
			st.setHostKeyErr(err)
		}
		return err
	}
}

func (d *Dialer) checkHostKey(t *Target, db *hostDB, node string, remote net.Addr, key ssh.PublicKey) error {
	if remote == nil {
		remote = &net.TCPAddr{IP: net.IPv4zero, Port: t.Port}
	}
	var changed *knownhosts.KeyError
	for _, addr := range hostAddrs(t) {
		err := db.check(addr, remote, key)
		if err == nil {
			return nil
		}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &re):
			return &HostKeyError{Node: node, Revoked: true, Key: key, Files: d.displayFiles(t, db),
				OldFile: d.display(re.Revoked.Filename), OldLine: re.Revoked.Line, Err: err}
		case errors.As(err, &ke):
			if len(ke.Want) > 0 && changed == nil {
				changed = ke
			}
		default:
			return fmt.Errorf("nodes: %s: checking host key: %w", node, err)
		}
	}
	if changed != nil {
		w := changed.Want[0]
		return &HostKeyError{Node: node, Changed: true, Key: key, Files: d.displayFiles(t, db),
			OldFile: d.display(w.Filename), OldLine: w.Line, Err: changed}
	}
	line := knownhosts.Line(hostAddrs(t)[:1], key)
	d.khMu.Lock()
	accepted := d.accepted[line]
	d.khMu.Unlock()
	if accepted {
		return nil
	}
	switch t.StrictHostKeyChecking {
	case "no":
		return nil
	case "accept-new":
		if err := d.recordHostKey(t, key, line); err != nil {
			return &HostKeyError{Node: node, Unknown: true, Key: key, Files: d.displayFiles(t, db), Err: err, recordFailed: true}
		}
		d.logf("nodes: %s: added %s host key %s to %s", node, key.Type(), ssh.FingerprintSHA256(key), d.display(t.KnownHostsFiles[0]))
		return nil
	default:
		return &HostKeyError{Node: node, Unknown: true, Key: key, Files: d.displayFiles(t, db),
			Err: &knownhosts.KeyError{}}
	}
}

// recordHostKey appends key to t's first known_hosts file (creating it and
// its directory), once per run (line, the unhashed entry, is the identity),
// and drops the cached databases so later dials see it. With HashKnownHosts
// the host name is written hashed, as ssh does.
func (d *Dialer) recordHostKey(t *Target, key ssh.PublicKey, line string) error {
	if len(t.KnownHostsFiles) == 0 {
		return errors.New("no UserKnownHostsFile to record it in")
	}
	file := t.KnownHostsFiles[0]
	d.khMu.Lock()
	defer d.khMu.Unlock()
	if d.accepted[line] {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	prefix := ""
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			prefix = "\n"
		}
	}
	entry := line
	if t.HashKnownHosts {
		entry = knownhosts.HashHostname(knownhosts.Normalize(hostAddrs(t)[0])) + " " +
			strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	}
	_, err = f.WriteString(prefix + entry + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	d.accepted[line] = true
	clear(d.khCache)
	return nil
}

// displayFiles lists the known_hosts files consulted for t, for messages: the
// ones that exist, or the first user file when none does.
func (d *Dialer) displayFiles(t *Target, db *hostDB) []string {
	var out []string
	for _, f := range db.files {
		out = append(out, d.display(f))
	}
	if len(out) == 0 && len(t.KnownHostsFiles) > 0 {
		out = append(out, d.display(t.KnownHostsFiles[0]))
	}
	if len(out) == 0 {
		out = append(out, "any known_hosts file")
	}
	return out
}
