//go:build unix

package sshdtest

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh/knownhosts"
)

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }

// writeClientFiles writes known_hosts, ssh_config and the nodes file, which
// depend on the ports the nodes finally got.
func (c *Cluster) writeClientFiles() error {
	var kh, nodes strings.Builder
	for _, n := range c.Nodes {
		for _, k := range n.HostKeys {
			kh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(n.Addr)}, k) + "\n")
		}
		nodes.WriteString(n.Name + "\n")
	}
	if err := os.WriteFile(c.KnownHosts, []byte(kh.String()), 0o644); err != nil {
		return fmt.Errorf("sshdtest: %w", err)
	}
	if err := os.WriteFile(c.NodesFile, []byte(nodes.String()), 0o644); err != nil {
		return fmt.Errorf("sshdtest: %w", err)
	}
	return os.WriteFile(c.SSHConfig, []byte(c.sshConfig(nil)), 0o644)
}

// sshConfig renders the client ssh_config: the extra lines first, then one
// Host block per node.
func (c *Cluster) sshConfig(extra []string) string {
	var b strings.Builder
	b.WriteString("# ssh_config written by drove's internal/sshdtest\n")
	for _, line := range extra {
		b.WriteString(line + "\n")
	}
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "\nHost %s\n", n.Name)
		fmt.Fprintf(&b, "    HostName %s\n", n.Host)
		fmt.Fprintf(&b, "    Port %s\n", strconv.Itoa(n.Port))
		fmt.Fprintf(&b, "    User %s\n", c.User)
		fmt.Fprintf(&b, "    IdentityFile %s\n", quote(c.ClientKey))
		b.WriteString("    IdentitiesOnly yes\n")
		fmt.Fprintf(&b, "    UserKnownHostsFile %s\n", quote(c.KnownHosts))
		b.WriteString("    StrictHostKeyChecking yes\n")
	}
	return b.String()
}

// WriteSSHConfig writes another ssh_config named name in the Cluster's
// directory and returns its path. It holds the extra lines, then the same
// Host blocks as SSHConfig. Extra lines outside a Host block apply to every
// node and win over the generated ones (ssh uses the first value it
// obtains); a Host or Match block the extra lines open ends at the first
// generated "Host nodeN" line. Use it for, say, "Host node2" with
// "ProxyJump node1", or a global "ServerAliveInterval 1".
func (c *Cluster) WriteSSHConfig(t TB, name string, extra ...string) string {
	t.Helper()
	if name == "" || strings.ContainsRune(name, '/') {
		t.Fatalf("sshdtest: WriteSSHConfig: bad file name %q", name)
	}
	path := filepath.Join(c.Dir, name)
	if err := os.WriteFile(path, []byte(c.sshConfig(extra)), 0o644); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	return path
}
