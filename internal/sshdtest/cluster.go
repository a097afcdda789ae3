//go:build unix

package sshdtest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Options configures the nodes of a Cluster. The zero value gives one node
// with sshd's defaults.
type Options struct {
	Nodes       int    // number of sshd processes; 0 means 1
	MaxSessions int    // sshd MaxSessions; 0 keeps sshd's default (10)
	MaxStartups string // sshd MaxStartups, e.g. "2:100:2"; "" keeps the default (10:30:100)
	// ClientAliveInterval sets sshd's ClientAliveInterval, rounded up to
	// whole seconds; 0 keeps sshd's default (off). ClientAliveCountMax sets
	// its ClientAliveCountMax when non-zero (sshd's default is 3).
	ClientAliveInterval time.Duration
	ClientAliveCountMax int
	// ExtraConfig holds extra sshd_config lines. They are written before the
	// harness's own settings, so they override them (sshd keeps the first
	// value it reads for most keywords); lines from the first "Match" on go
	// at the end of the file, where a Match block must be.
	ExtraConfig []string
	// NodeConfig, when set, gives extra sshd_config lines for node i
	// (0-based) alone, written before ExtraConfig's (so they win over them
	// and over the harness's settings); a "Match" line and what follows go
	// at the end, as with ExtraConfig.
	NodeConfig func(i int) []string
	// HostKeys, when non-empty, are every node's host keys, in this order,
	// instead of a fresh ed25519 key per node.
	HostKeys []crypto.Signer
	// AuthorizedKeys are client keys authorized for the login user besides
	// the Cluster's own ClientKey.
	AuthorizedKeys []ssh.PublicKey

	// beforeLaunch, when set (by this package's tests), runs before a
	// node's first launch.
	beforeLaunch func(*Node)
}

// Cluster is a set of running sshd nodes sharing a login user, a client key,
// a known_hosts file and an ssh_config.
type Cluster struct {
	Dir        string // temporary directory holding every file; removed at cleanup
	User       string // the non-root login user (LoginUser)
	UID        int    // its uid
	Home       string // its home directory, shared by every node and cluster
	GID        int    // the login user's primary group
	ClientKey  string // unencrypted ed25519 private key, authorized on every node
	KnownHosts string // known_hosts with every node's host key, as [host]:port
	// SSHConfig is an ssh_config with one Host alias per node ("node1" ..
	// "nodeN") setting HostName, Port, User, IdentityFile, IdentitiesOnly
	// yes, UserKnownHostsFile and StrictHostKeyChecking yes.
	SSHConfig string
	NodesFile string     // the node aliases, one per line (clstr's --node-file)
	Signer    ssh.Signer // the client key, for x/crypto clients
	Nodes     []*Node
}

// firstNodeAddr is the loopback address of node1; node i+1 gets the next
// one. Linux routes all of 127.0.0.0/8 to lo.
const firstNodeAddr = 0x7f00000b // 127.0.0.11

// Start starts opts.Nodes sshd processes on loopback, waits until each one
// listens and registers a cleanup that kills every node's
// processes and removes the Cluster's directory. It skips the test when sshd
// is missing or the process is not root, unless CI is set (see the package
// documentation).
func Start(t TB, opts Options) *Cluster {
	t.Helper()
	if !procfs {
		unavailable(t, "sshdtest needs Linux's /proc to find a node's processes")
	}
	sshd, err := findSSHD()
	if err != nil {
		unavailable(t, "%v", err)
	}
	if os.Geteuid() != 0 {
		unavailable(t, "starting sshd needs root (euid is %d)", os.Geteuid())
	}
	if opts.Nodes == 0 {
		opts.Nodes = 1
	}
	if opts.Nodes < 0 || opts.Nodes > 60000 {
		t.Fatalf("sshdtest: Options.Nodes is %d", opts.Nodes)
	}
	acct, err := prepareMachine()
	if err != nil {
		t.Fatalf("%v", err)
	}

	dir, err := os.MkdirTemp("", "drove-sshdtest-")
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// sshd reads AuthorizedKeysFile as the login user, so it must be able
	// to traverse the directory (MkdirTemp makes it 0700).
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	if strings.ContainsAny(dir, "\"\n\\") {
		t.Fatalf("sshdtest: temporary directory %q holds a character sshd_config cannot quote", dir)
	}

	c := &Cluster{
		Dir:        dir,
		User:       acct.Name,
		UID:        acct.UID,
		GID:        acct.GID,
		Home:       acct.Home,
		ClientKey:  filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"),
		SSHConfig:  filepath.Join(dir, "ssh_config"),
		NodesFile:  filepath.Join(dir, "nodes"),
	}
	if err := c.writeClientKey(opts.AuthorizedKeys); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := stopNodes(c.Nodes); err != nil {
			t.Logf("sshdtest: cleanup: %v", err)
		}
		for _, n := range c.Nodes {
			n.hold.release()
		}
	})
	for i := range opts.Nodes {
		n, err := c.newNode(i, sshd, opts)
		if err != nil {
			t.Fatalf("%v", err)
		}
		c.Nodes = append(c.Nodes, n)
		if opts.beforeLaunch != nil {
			opts.beforeLaunch(n)
		}
		if err := n.launch(); err != nil {
			t.Fatalf("%v", err)
		}
	}
	for _, n := range c.Nodes {
		if err := c.waitNodeUp(n, opts); err != nil {
			t.Fatalf("%v", err)
		}
	}
	if err := c.writeClientFiles(); err != nil {
		t.Fatalf("%v", err)
	}
	return c
}

// waitNodeUp waits for a freshly launched node, moving it to a newly held
// port if another process listens on its port (see portHold).
func (c *Cluster) waitNodeUp(n *Node, opts Options) error {
	const attempts = 5
	for range attempts {
		err := n.waitUp()
		if !errors.Is(err, errAddrInUse) {
			return err
		}
		hold, err := holdPort(n.Host)
		if err != nil {
			return err
		}
		n.hold.release()
		n.hold, n.Port = hold, hold.Port
		n.Addr = net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
		if err := os.WriteFile(n.Config, []byte(c.sshdConfig(n, opts)), 0o644); err != nil {
			return fmt.Errorf("sshdtest: %w", err)
		}
		if err := n.launch(); err != nil {
			return err
		}
	}
	return fmt.Errorf("sshdtest: %s: no free port on %s after %d attempts", n.Name, n.Host, attempts)
}

// newNode prepares node i: address, port, host key and sshd_config.
func (c *Cluster) newNode(i int, sshd string, opts Options) (_ *Node, err error) {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], firstNodeAddr+uint32(i))
	host := netip.AddrFrom4(a).String()
	hold, err := holdPort(host)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			hold.release()
		}
	}()
	name := "node" + strconv.Itoa(i+1)
	nodeDir := filepath.Join(c.Dir, name)
	if err := os.Mkdir(nodeDir, 0o755); err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	scratch := filepath.Join(nodeDir, "scratch")
	if err := os.Mkdir(scratch, 0o755); err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	if err := os.Chown(scratch, c.UID, c.GID); err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	n := &Node{
		Name:    name,
		Scratch: scratch,
		Host:    host,
		Port:    hold.Port,
		Addr:    net.JoinHostPort(host, strconv.Itoa(hold.Port)),
		hold:    hold,
		Config:  filepath.Join(nodeDir, "sshd_config"),
		LogFile: filepath.Join(nodeDir, "sshd.log"),
		sshd:    sshd,
		uid:     c.UID,
	}
	if opts.NodeConfig != nil {
		n.extra = opts.NodeConfig(i)
	}
	if len(opts.HostKeys) == 0 {
		path := filepath.Join(nodeDir, "ssh_host_ed25519_key")
		signer, err := writePrivateKey(path)
		if err != nil {
			return nil, err
		}
		n.HostKeys, n.hostKeyFiles = []ssh.PublicKey{signer.PublicKey()}, []string{path}
	}
	for i, k := range opts.HostKeys {
		path := filepath.Join(nodeDir, "ssh_host_key_"+strconv.Itoa(i))
		pub, err := writeKey(path, k)
		if err != nil {
			return nil, err
		}
		n.HostKeys, n.hostKeyFiles = append(n.HostKeys, pub), append(n.hostKeyFiles, path)
	}
	n.HostKey = n.HostKeys[0]
	n.HostKeyPub = strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(n.HostKey)), "\n")
	if err := os.WriteFile(n.Config, []byte(c.sshdConfig(n, opts)), 0o644); err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	return n, nil
}

// quote double-quotes a path for sshd_config and ssh_config if it holds
// blanks or '#'; plain paths stay plain, the form most configs use.
func quote(s string) string {
	if strings.ContainsAny(s, " \t#") {
		return `"` + s + `"`
	}
	return s
}

// sshdConfig renders node n's sshd_config.
func (c *Cluster) sshdConfig(n *Node, opts Options) string {
	var b strings.Builder
	b.WriteString("# sshd_config written by drove's internal/sshdtest\n")
	extra, match := append(append([]string(nil), n.extra...), opts.ExtraConfig...), []string(nil)
	for i, line := range extra {
		if f := strings.Fields(line); len(f) > 0 && strings.EqualFold(f[0], "Match") {
			extra, match = extra[:i], extra[i:]
			break
		}
	}
	for _, line := range extra {
		b.WriteString(line + "\n")
	}
	lines := []string{
		"ListenAddress " + n.Addr,
		"PidFile none",
		"AuthorizedKeysFile " + quote(filepath.Join(c.Dir, "authorized_keys")),
		"AllowUsers " + c.User,
		"PermitRootLogin no",
		"StrictModes no",
		"UsePAM no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"HostbasedAuthentication no",
		"X11Forwarding no",
		"PrintMotd no",
		"PrintLastLog no",
		"UseDNS no",
		"LogLevel DEBUG1",
		"Subsystem sftp internal-sftp",
		// Sessions get the node's scratch directory as TMPDIR, as separate
		// machines would have separate /tmp: what drove leaves there (a
		// guard's directory, when a test kills the node) goes with the
		// cluster.
		"SetEnv " + quote("TMPDIR="+n.Scratch),
	}
	if opts.MaxSessions != 0 {
		lines = append(lines, "MaxSessions "+strconv.Itoa(opts.MaxSessions))
	}
	if opts.MaxStartups != "" {
		lines = append(lines, "MaxStartups "+opts.MaxStartups)
	}
	if opts.ClientAliveInterval > 0 {
		secs := (opts.ClientAliveInterval + time.Second - 1) / time.Second
		lines = append(lines, "ClientAliveInterval "+strconv.Itoa(int(secs)))
	}
	if opts.ClientAliveCountMax != 0 {
		lines = append(lines, "ClientAliveCountMax "+strconv.Itoa(opts.ClientAliveCountMax))
	}
	for _, path := range n.hostKeyFiles {
		lines = append(lines, "HostKey "+quote(path))
	}
	for _, line := range append(lines, match...) {
		b.WriteString(line + "\n")
	}
	return b.String()
}

// writePrivateKey generates an ed25519 key and writes it, unencrypted and in
// OpenSSH format, to path with mode 0600.
func writePrivateKey(path string) (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sshdtest: generate key: %w", err)
	}
	if _, err := writeKey(path, priv); err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	return signer, nil
}

// writeKey writes key, unencrypted and in OpenSSH format, to path with mode
// 0600 and returns its public half.
func writeKey(path string, key crypto.Signer) (ssh.PublicKey, error) {
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		return nil, fmt.Errorf("sshdtest: marshal key: %w", err)
	}
	if err := os.WriteFile(path, pemEncode(block), 0o600); err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	return pub, nil
}

// writeClientKey creates the client key and the authorized_keys file,
// which also holds the extra keys.
func (c *Cluster) writeClientKey(extra []ssh.PublicKey) error {
	signer, err := writePrivateKey(c.ClientKey)
	if err != nil {
		return err
	}
	c.Signer = signer
	pub := ssh.MarshalAuthorizedKey(signer.PublicKey())
	if err := os.WriteFile(c.ClientKey+".pub", pub, 0o644); err != nil {
		return fmt.Errorf("sshdtest: %w", err)
	}
	auth := append([]byte(nil), pub...)
	for _, k := range extra {
		auth = append(auth, ssh.MarshalAuthorizedKey(k)...)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "authorized_keys"), auth, 0o644); err != nil {
		return fmt.Errorf("sshdtest: %w", err)
	}
	return nil
}

// Log returns the sshd log of c.Nodes[i].
func (c *Cluster) Log(i int) string { return c.Nodes[i].Log() }
