package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Fleet is a set of servers with the client side set up as a user would
// have it: a client key, a known_hosts file holding every server's host key,
// and an ssh_config naming them node1..nodeN.
type Fleet struct {
	Servers    []*Server
	SSHConfig  string
	KnownHosts string
	ClientKey  string
	Names      []string
}

// NewFleet starts n servers and writes the client files in t.TempDir().
func NewFleet(t testing.TB, n int, opts Options) *Fleet {
	t.Helper()
	dir := t.TempDir()
	f := &Fleet{KnownHosts: filepath.Join(dir, "known_hosts"), ClientKey: filepath.Join(dir, "id_ed25519"), SSHConfig: filepath.Join(dir, "ssh_config")}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := os.WriteFile(f.ClientKey, pem.EncodeToMemory(&pem.Block{Type: blk.Type, Bytes: blk.Bytes}), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	var kh, cfg strings.Builder
	for i := range n {
		s := New(t, opts)
		f.Servers = append(f.Servers, s)
		name := fmt.Sprintf("node%d", i+1)
		f.Names = append(f.Names, name)
		host, port, _ := net.SplitHostPort(s.Addr)
		for _, k := range s.HostKeys {
			kh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, k.PublicKey()) + "\n")
		}
		fmt.Fprintf(&cfg, "Host %s\n  HostName %s\n  Port %s\n  User tester\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n",
			name, host, port, f.ClientKey, f.KnownHosts)
	}
	if err := os.WriteFile(f.KnownHosts, []byte(kh.String()), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := os.WriteFile(f.SSHConfig, []byte(cfg.String()), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return f
}
