package knownhosts

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func newEd25519Signer(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

// FuzzKnownHostsLine: any line parses or is rejected without panicking, and
// matching never panics.
func FuzzKnownHostsLine(f *testing.F) {
	for _, s := range []string{
		"[127.0.0.1]:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMYdOC6cvqAgaoHhE6v05QeFRk8P6YEA3czSfhmjwPVj",
		"@cert-authority *.example.com,!bad.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMYdOC6cvqAgaoHhE6v05QeFRk8P6YEA3czSfhmjwPVj c",
		"@revoked * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMYdOC6cvqAgaoHhE6v05QeFRk8P6YEA3czSfhmjwPVj",
		"|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMYdOC6cvqAgaoHhE6v05QeFRk8P6YEA3czSfhmjwPVj",
		"|1|bad|hash ssh-rsa AAAA",
		"@bogus x ssh-ed25519 AAAA",
	} {
		f.Add(s, "[web1]:2222")
	}
	f.Fuzz(func(t *testing.T, line, name string) {
		e, err := ParseLine([]byte(line))
		if err != nil {
			return
		}
		_ = e.Matches(name)
		db := &DB{entries: []Entry{e}}
		_, _ = db.Lookup(name, e.Key)
	})
}

func TestKnownHostsHugeLineSkipped(t *testing.T) {
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	key := newEd25519Signer(t).PublicKey()
	body := "x " + strings.Repeat("A", MaxLineLen+10) + "\nweb1 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + "\n"
	require.NoError(t, os.WriteFile(kh, []byte(body), 0o600))
	var bad []string
	db, err := Read([]string{kh}, func(file string, line int, why string) {
		bad = append(bad, fmt.Sprintf("%d: %s", line, why))
	})
	require.NoError(t, err)
	assert.Equal(t, []string{fmt.Sprintf("1: line longer than %d bytes", MaxLineLen)}, bad)
	st, _ := db.Lookup("web1", key)
	assert.Equal(t, OK, st, "the line after a huge one is still read")
}
