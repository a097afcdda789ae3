package nodes

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/drove-dev/drove/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// knownHosts returns the host key database for t's files, parsed once and
// cached until this Dialer appends to a file. Missing files are skipped; a
// line that cannot be parsed is skipped with one note naming file and line.
func (d *Dialer) knownHosts(t *Target) (*knownhosts.DB, error) {
	all := append(append([]string(nil), t.KnownHostsFiles...), t.GlobalKnownHostsFiles...)
	return d.hosts.DB(all, func(file string, line int, why string) {
		d.noteOnce(fmt.Sprintf("known_hosts:%s:%d", file, line),
			"nodes: %s:%d: skipping malformed known_hosts line: %s", d.display(file), line, why)
	})
}

// algoKeyType returns the plain key type of a host key algorithm
// (rsa-sha2-512-cert-v01@openssh.com -> ssh-rsa) and whether it is a
// certificate algorithm.
func algoKeyType(alg string) (string, bool) {
	cert := strings.Contains(alg, "-cert-v01@openssh.com")
	base := strings.Replace(alg, "-cert-v01@openssh.com", "", 1)
	if cert && strings.HasPrefix(base, "sk-") {
		base += "@openssh.com" // sk-ssh-ed25519@openssh.com and sk-ecdsa-...
	}
	switch base {
	case ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512:
		base = ssh.KeyAlgoRSA
	}
	return base, cert
}

// hostKeyAlgorithms returns ClientConfig.HostKeyAlgorithms for t, ordered as
// OpenSSH's order_hostkeyalgs does: keeping x/crypto's preference order,
// first the certificate algorithms when an @cert-authority line applies to
// the host, and the algorithms (plain and certificate) of the key types on
// file for the host; then the rest. A server with several host keys then
// offers one we can verify (golang/go#49631), and a server that lost that key
// type still gets as far as a "changed key" error. nil (x/crypto defaults)
// when nothing is on file for the host.
func hostKeyAlgorithms(db *knownhosts.DB, t *Target) []string {
	name := hostKeyName(t)
	known := map[string]bool{}
	for _, e := range db.PlainKeys(name) {
		known[e.Key.Type()] = true
	}
	ca := db.HasCA(name)
	if !ca && len(known) == 0 {
		return nil
	}
	var first, last []string
	for _, a := range ssh.SupportedAlgorithms().HostKeys {
		typ, cert := algoKeyType(a)
		if (cert && ca) || known[typ] {
			first = append(first, a)
		} else {
			last = append(last, a)
		}
	}
	if known[ssh.KeyAlgoRSA] {
		// Kept from drove's earlier behaviour: an ssh-rsa key on file may
		// be a server that signs only with SHA-1.
		first = append(first, ssh.KeyAlgoRSA)
	}
	return append(first, last...)
}

// hostKeyCallback returns the callback for dialling t, named node in errors.
// A refusal is also stored in st so the caller can return the typed error
// rather than x/crypto's wrapping of it.
func (d *Dialer) hostKeyCallback(t *Target, db *knownhosts.DB, node string, st *dialState) ssh.HostKeyCallback {
	return func(_ string, remote net.Addr, key ssh.PublicKey) error {
		err := d.checkHostKey(t, db, node, remote, key)
		if err != nil {
			st.setHostKeyErr(err)
		}
		return err
	}
}

// checkHostKey makes OpenSSH's host key decision (sshconnect.c
// check_host_key) for key offered by t at remote:
//
//   - the name looked up is HostKeyAlias if set, else HostName, as
//     "[host]:port" when the port is not 22; no other name is consulted, so a
//     key on file under the alias or the address cannot rescue a mismatch;
//   - a certificate is accepted when an @cert-authority line for the name
//     holds its CA and it is a valid host certificate for HostKeyAlias or
//     HostName; otherwise its plain key is checked as below (a revoked
//     certificate or CA is refused);
//   - a plain key on file is accepted; a different key on file is refused
//     (in every mode: drove, unlike ssh with StrictHostKeyChecking no, never
//     connects to a changed host), as is an @revoked key; an unknown key
//     follows StrictHostKeyChecking;
//   - with CheckHostIP (off by default since OpenSSH 8.5) a direct connection
//     to a non-loopback address is also looked up under the address, and a
//     different key there is refused unless StrictHostKeyChecking is no.
func (d *Dialer) checkHostKey(t *Target, db *knownhosts.DB, node string, remote net.Addr, key ssh.PublicKey) error {
	name := hostKeyName(t)
	st, e, k := d.hostKeyStatus(t, db, node, name, key, false)
	key = k
	switch st {
	case knownhosts.Revoked:
		return &HostKeyError{Node: node, Revoked: true, Key: key, Files: d.displayFiles(t, db),
			OldFile: d.display(e.File), OldLine: e.Line, Err: errors.New("key is revoked")}
	case knownhosts.Changed:
		return &HostKeyError{Node: node, Changed: true, Key: key, Files: d.displayFiles(t, db),
			OldFile: d.display(e.File), OldLine: e.Line,
			Err: &xknownhosts.KeyError{Want: []xknownhosts.KnownKey{{Key: e.Key, Filename: e.File, Line: e.Line}}}}
	case knownhosts.OK:
		if e == nil { // a valid certificate
			d.hostLogf(t, "VERBOSE", "nodes: %s: host certificate %s accepted (signed by a CA on file for %s)", node, ssh.FingerprintSHA256(key), name)
			return nil
		}
		d.hostLogf(t, "VERBOSE", "nodes: %s: host key %s %s matches %s:%d", node, key.Type(), ssh.FingerprintSHA256(key), d.display(e.File), e.Line)
		return d.checkHostIP(t, db, node, remote, key, e)
	}
	line := name + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	if d.hosts.Accepted(line) {
		return nil
	}
	switch t.StrictHostKeyChecking {
	case "no":
		// Accepted unseen, but pinned for the whole run: the same name
		// with another key later (a reconnection, a readmission) is a
		// changed key, refused as one on file would be.
		if first := d.hosts.Pin(name, line); first != line {
			return &HostKeyError{Node: node, Changed: true, Key: key, Files: d.displayFiles(t, db),
				Err: fmt.Errorf("host key for %s changed during this run (StrictHostKeyChecking no accepted another key before)", name)}
		}
		return nil
	case "accept-new":
		if err := d.recordHostKey(t, key, line); err != nil {
			return &HostKeyError{Node: node, Unknown: true, Key: key, Files: d.displayFiles(t, db), Err: err, recordFailed: true}
		}
		d.hostLogf(t, "INFO", "nodes: %s: added %s host key %s to %s", node, key.Type(), ssh.FingerprintSHA256(key), d.display(t.KnownHostsFiles[0]))
		return nil
	default:
		return &HostKeyError{Node: node, Unknown: true, Key: key, Files: d.displayFiles(t, db),
			Err: &xknownhosts.KeyError{}}
	}
}

// hostKeyStatus looks key up under name as OpenSSH's check_host_key does.
// A certificate whose CA is on file for name and which is a valid host
// certificate for HostKeyAlias or HostName gives OK with a nil entry. When
// nothing is on file under "[host]:port" (and there is no HostKeyAlias) the
// bare host name is tried, read-only: only a match there counts. A
// certificate not accepted either way is looked up again as its plain key,
// which is returned as the key decided on.
func (d *Dialer) hostKeyStatus(t *Target, db *knownhosts.DB, node, name string, key ssh.PublicKey, bare bool) (knownhosts.Status, *knownhosts.Entry, ssh.PublicKey) {
	retryBare := func(k ssh.PublicKey) bool {
		if bare || t.HostKeyAlias != "" || t.Port == 22 {
			return false
		}
		st, _, _ := d.hostKeyStatus(t, db, node, t.HostName, k, true)
		return st == knownhosts.OK
	}
	if cert, ok := key.(*ssh.Certificate); ok {
		st, e := db.Lookup(name, cert)
		switch st {
		case knownhosts.Revoked:
			return st, e, cert
		case knownhosts.OK:
			principal := t.HostKeyAlias
			if principal == "" {
				principal = t.HostName
			}
			err := certCheckHost(cert, principal)
			if err == nil {
				return knownhosts.OK, nil, cert
			}
			d.hostLogf(t, "VERBOSE", "nodes: %s: host certificate not accepted (%v); checking its plain key", node, err)
		case knownhosts.New:
			if retryBare(cert) {
				return knownhosts.OK, nil, cert
			}
		}
		key = cert.Key
	}
	st, e := db.Lookup(name, key)
	if st == knownhosts.New && retryBare(key) {
		st, e = db.Lookup(t.HostName, key)
	}
	if bare && st != knownhosts.OK {
		return knownhosts.New, nil, key
	}
	return st, e, key
}

// checkHostIP applies CheckHostIP to a key already accepted under the host
// name (found at hostLine).
func (d *Dialer) checkHostIP(t *Target, db *knownhosts.DB, node string, remote net.Addr, key ssh.PublicKey, hostLine *knownhosts.Entry) error {
	if !t.CheckHostIP || t.ProxyCommand != "" || len(t.Jump) > 0 {
		return nil
	}
	ipName, ok := hostIPName(t, remote)
	if !ok {
		return nil
	}
	st, e := db.Lookup(ipName, key)
	if st != knownhosts.Changed && st != knownhosts.Revoked {
		return nil
	}
	if t.StrictHostKeyChecking == "no" {
		d.hostLogf(t, "INFO", "nodes: %s: warning: the host key differs from the key for the IP address %s (%s:%d)", node, ipName, d.display(e.File), e.Line)
		return nil
	}
	return &HostKeyError{Node: node, IPDiffers: true, Key: key, Files: d.displayFiles(t, db),
		OldFile: d.display(e.File), OldLine: e.Line, IP: ipName,
		HostFile: d.display(hostLine.File), HostLine: hostLine.Line}
}

// certCheckHost is OpenSSH's sshkey_cert_check_host: a host certificate,
// valid now, naming principal (or naming no principals), signed by its
// SignatureKey.
func certCheckHost(cert *ssh.Certificate, principal string) error {
	if cert.CertType != ssh.HostCert {
		return errors.New("not a host certificate")
	}
	return (&ssh.CertChecker{}).CheckCert(principal, cert)
}

// recordHostKey appends key to t's first known_hosts file (creating it and
// its directory), once per run (line, the unhashed entry, is the identity),
// and drops the cached databases so later dials see it. With HashKnownHosts
// the host name is written hashed, as ssh does.
func (d *Dialer) recordHostKey(t *Target, key ssh.PublicKey, line string) error {
	if len(t.KnownHostsFiles) == 0 {
		return errors.New("no UserKnownHostsFile to record it in")
	}
	entry := line
	if t.HashKnownHosts {
		entry = knownhosts.HashHostname(strings.ToLower(hostKeyName(t))) + " " +
			strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	}
	return d.hosts.Record(t.KnownHostsFiles[0], line, entry)
}

// displayFiles lists the known_hosts files consulted for t, for messages: the
// ones that exist, or the first user file when none does.
func (d *Dialer) displayFiles(t *Target, db *knownhosts.DB) []string {
	var out []string
	for _, f := range db.Files() {
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

// hostKeyName is the name OpenSSH looks t's key up under: HostKeyAlias as
// written if set, else the HostName with the port when it is not 22.
func hostKeyName(t *Target) string {
	if t.HostKeyAlias != "" {
		return t.HostKeyAlias
	}
	return knownhosts.HostPortName(t.HostName, t.Port)
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
	return knownhosts.HostPortName(ip, t.Port), true
}
