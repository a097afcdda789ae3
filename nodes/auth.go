package nodes

import (
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

// agentClient returns the shared ssh-agent client, connecting on first use;
// nil when there is no agent or it cannot be reached (noted once).
func (d *Dialer) agentClient() agent.ExtendedAgent {
	d.agentMu.Lock()
	defer d.agentMu.Unlock()
	if d.agentTried {
		return d.agent
	}
	d.agentTried = true
	sock := os.Getenv("SSH_AUTH_SOCK")
	if d.opts.AgentSocket != nil {
		sock = *d.opts.AgentSocket
	}
	if sock == "" {
		return nil
	}
	conn, err := net.DialTimeout("unix", sock, agentTimeout)
	if err != nil {
		d.logf("nodes: not using ssh-agent at %s: %v", sock, err)
		return nil
	}
	d.agentConn = conn
	d.agent = agent.NewClient(&deadlineConn{Conn: conn, timeout: agentTimeout})
	return d.agent
}

// signers returns the keys to offer to t, in the order OpenSSH would: agent
// keys then identity files, or with IdentitiesOnly only the identity files
// (through the agent when it holds them). It records what it offered in st.
func (d *Dialer) signers(t *Target, st *authState) []ssh.Signer {
	var agentSigners []ssh.Signer
	if ag := d.agentClient(); ag != nil {
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
	var out []ssh.Signer
	seen := map[string]bool{}
	add := func(s ssh.Signer, what string) {
		k := string(s.PublicKey().Marshal())
		if seen[k] {
			return
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
	for _, path := range t.IdentityFiles {
		id := d.loadIdentity(path)
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
	return out
}

// noteOnce logs a note the first time key is seen by this Dialer.
func (d *Dialer) noteOnce(key, format string, args ...any) {
	d.keysMu.Lock()
	seen := d.noted[key]
	d.noted[key] = true
	d.keysMu.Unlock()
	if !seen {
		d.logf(format, args...)
	}
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
