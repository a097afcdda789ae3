package nodes

import (
	"bytes"
	"errors"
	"net"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// agentTimeout bounds each read or write on the ssh-agent socket, so a hung
// agent cannot hang a dial.
const agentTimeout = 30 * time.Second

// identity is one IdentityFile, parsed once per Dialer.
type identity struct {
	path      string
	pub       ssh.PublicKey // from FILE.pub or the private key; nil if unknown
	signer    ssh.Signer    // nil if missing, encrypted or unparsable
	encrypted bool
	cert      *ssh.Certificate // FILE-cert.pub, when it certifies this key
}

// authState records, for one connection attempt, what was offered so that a
// refusal can name it.
type authState struct {
	asked   bool // the server asked for keys
	offered []string
	skipped []string
}

// loadIdentity returns the cached identity for path, reading it on first use.
// It returns nil for a file that exists neither as FILE nor as FILE.pub.
func (d *Dialer) loadIdentity(path string) *identity {
	d.keysMu.Lock()
	defer d.keysMu.Unlock()
	if id, ok := d.keys[path]; ok {
		return id
	}
	id := d.readIdentity(path)
	d.keys[path] = id
	return id
}

func (d *Dialer) readIdentity(path string) *identity {
	id := &identity{path: path}
	if data, err := os.ReadFile(path + ".pub"); err == nil {
		if pub, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
			id.pub = pub
		}
	}
	data, err := os.ReadFile(path)
	defer func() {
		if id.pub != nil {
			if c := d.loadCert(path + "-cert.pub"); c != nil && keysEqual(c.Key, id.pub) {
				id.cert = c
			}
		}
	}()
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			d.logf("nodes: skipping identity file %s: %v", d.display(path), err)
		}
		if id.pub == nil {
			return nil
		}
		return id
	}
	signer, err := ssh.ParsePrivateKey(data)
	var pm *ssh.PassphraseMissingError
	switch {
	case err == nil:
		id.signer = signer
		id.pub = signer.PublicKey()
	case errors.As(err, &pm):
		id.encrypted = true
		if id.pub == nil {
			id.pub = pm.PublicKey
		}
	default:
		d.logf("nodes: skipping identity file %s: %v", d.display(path), err)
	}
	return id
}

// loadCert returns the user certificate in path (authorized-key format),
// cached; nil when the file is missing or holds no user certificate (noted).
func (d *Dialer) loadCert(path string) *ssh.Certificate {
	d.certMu.Lock()
	defer d.certMu.Unlock()
	if c, ok := d.certs[path]; ok {
		return c
	}
	var cert *ssh.Certificate
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		d.logf("nodes: skipping certificate file %s: %v", d.display(path), err)
	default:
		pub, _, _, _, perr := ssh.ParseAuthorizedKey(data)
		c, ok := pub.(*ssh.Certificate)
		switch {
		case perr != nil:
			d.logf("nodes: skipping certificate file %s: %v", d.display(path), perr)
		case !ok || c.CertType != ssh.UserCert:
			d.logf("nodes: skipping certificate file %s: not a user certificate", d.display(path))
		default:
			cert = c
		}
	}
	d.certs[path] = cert
	return cert
}

// agentSocket returns the agent socket for t: its IdentityAgent when set
// ("none" = no agent), else Options.AgentSocket, else $SSH_AUTH_SOCK.
func (d *Dialer) agentSocket(t *Target) string {
	if t != nil && t.IdentityAgent != "" {
		if t.IdentityAgent == "none" {
			return ""
		}
		return t.IdentityAgent
	}
	if d.opts.AgentSocket != nil {
		return *d.opts.AgentSocket
	}
	return os.Getenv("SSH_AUTH_SOCK")
}

// agentFor is one agent socket's shared connection.
type agentFor struct {
	conn   net.Conn
	client agent.ExtendedAgent
}

// agentClient returns the shared client of t's ssh-agent (see agentSocket),
// connecting on first use; nil when there is no agent or it cannot be
// reached (noted once per socket).
func (d *Dialer) agentClient(t *Target) agent.ExtendedAgent {
	sock := d.agentSocket(t)
	if sock == "" {
		return nil
	}
	d.agentMu.Lock()
	defer d.agentMu.Unlock()
	if a, ok := d.agents[sock]; ok {
		if a == nil {
			return nil
		}
		return a.client
	}
	conn, err := net.DialTimeout("unix", sock, agentTimeout)
	if err != nil {
		d.agents[sock] = nil
		d.logf("nodes: not using ssh-agent at %s: %v", sock, err)
		return nil
	}
	a := &agentFor{conn: conn, client: agent.NewClient(&deadlineConn{Conn: conn, timeout: agentTimeout})}
	d.agents[sock] = a
	return a.client
}

// signers returns the keys to offer to t, in the order OpenSSH would: agent
// keys then identity files, or with IdentitiesOnly only the identity files
// (through the agent when it holds them). A key that a certificate certifies
// (FILE-cert.pub next to its identity file, or a CertificateFile) is offered
// first as the certificate, then plain; this holds for agent keys too. It
// records what it offered in st.
func (d *Dialer) signers(t *Target, st *authState) []ssh.Signer {
	var agentSigners []ssh.Signer
	if ag := d.agentClient(t); ag != nil {
		s, err := ag.Signers()
		if err != nil {
			d.noteOnce("agent-error", "nodes: ssh-agent failed, continuing without it: %v", err)
		}
		agentSigners = s
	}
	byKey := make(map[string]ssh.Signer, len(agentSigners))
	for _, s := range agentSigners {
		byKey[string(s.PublicKey().Marshal())] = s
	}
	// Certificates by the key they certify: CertificateFile first, then
	// each identity's FILE-cert.pub.
	certsFor := map[string][]*ssh.Certificate{}
	addCert := func(c *ssh.Certificate) {
		k := string(c.Key.Marshal())
		for _, x := range certsFor[k] {
			if keysEqual(x, c) {
				return
			}
		}
		certsFor[k] = append(certsFor[k], c)
	}
	for _, p := range t.CertificateFiles {
		if c := d.loadCert(p); c != nil {
			addCert(c)
		}
	}
	ids := make([]*identity, 0, len(t.IdentityFiles))
	for _, path := range t.IdentityFiles {
		id := d.loadIdentity(path)
		ids = append(ids, id)
		if id != nil && id.cert != nil {
			addCert(id.cert)
		}
	}
	var out []ssh.Signer
	seen := map[string]bool{}
	add := func(s ssh.Signer, what string) {
		k := string(s.PublicKey().Marshal())
		if seen[k] {
			return
		}
		for _, c := range certsFor[k] {
			cs, err := ssh.NewCertSigner(c, s)
			if err != nil {
				continue
			}
			if ck := string(cs.PublicKey().Marshal()); !seen[ck] {
				seen[ck] = true
				out = append(out, cs)
			}
		}
		seen[k] = true
		out = append(out, s)
		if len(st.offered) == 0 || st.offered[len(st.offered)-1] != what {
			st.offered = append(st.offered, what)
		}
	}
	if !t.IdentitiesOnly {
		for _, s := range agentSigners {
			add(s, "agent")
		}
	}
	for i, path := range t.IdentityFiles {
		id := ids[i]
		if id == nil {
			continue
		}
		if id.pub != nil {
			if s, ok := byKey[string(id.pub.Marshal())]; ok {
				if t.IdentitiesOnly {
					add(s, d.display(path)+" (agent)")
				}
				continue
			}
		}
		switch {
		case id.signer != nil:
			add(id.signer, d.display(path))
		case id.encrypted:
			st.skipped = append(st.skipped, d.display(path))
			d.noteOnce("encrypted:"+path, "nodes: skipping encrypted identity file %s: drove never prompts for a passphrase; add the key to ssh-agent", d.display(path))
		}
	}
	if t.IdentitiesOnly {
		// OpenSSH also uses an agent key that a CertificateFile certifies.
		for _, p := range t.CertificateFiles {
			if c := d.loadCert(p); c != nil {
				if s, ok := byKey[string(c.Key.Marshal())]; ok {
					add(s, d.display(p)+" (agent)")
				}
			}
		}
	}
	return out
}

// deadlineConn bounds every Read and Write on a connection.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}

// keysEqual reports whether a and b are the same key.
func keysEqual(a, b ssh.PublicKey) bool {
	return a != nil && b != nil && bytes.Equal(a.Marshal(), b.Marshal())
}
