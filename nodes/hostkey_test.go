package nodes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeySetup is a server accepting one client key written as the default
// identity file.
func hostKeySetup(t *testing.T, o sshtest.Options) (*sshtest.Server, *clientEnv) {
	t.Helper()
	key := newClientKey(t)
	o.AuthorizedKeys = []ssh.PublicKey{key.pub}
	srv := startServer(t, o)
	env := newClientEnv(t)
	key.write(t, filepath.Join(env.home, ".ssh", "id_ed25519"), false)
	return srv, env
}

func TestHostKeyUnknownRefused(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv)
	d, _ := env.dialer(Options{})

	_, err := dial(t, d, "web1")
	hk := asError[*HostKeyError](t, err)
	assert.True(t, hk.Unknown)
	assert.False(t, hk.Changed || hk.Revoked)
	assert.Equal(t, `nodes: web1: host key unknown (not in ~/.ssh/known_hosts); to accept it set "StrictHostKeyChecking accept-new" `+
		`for this host in ssh_config`, err.Error())
	assert.True(t, hk.NewHost(), "accepting new keys would let it in (the command names its flag)")
	assert.NoFileExists(t, env.kh, "yes never writes")
	assert.False(t, Retryable(err))
	require.Eventually(t, func() bool { return srv.OpenConns() == 0 }, 2*time.Second, 5*time.Millisecond, "the refused connection to close")
}

func TestHostKeyAcceptNew(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv, "StrictHostKeyChecking accept-new")
	env.host("web2", srv)
	d, rec := env.dialer(Options{})

	// Concurrent first dials record the key once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			c, err := d.Dial(context.Background(), resolve(t, d, "web1"))
			if err == nil {
				c.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	data, err := os.ReadFile(env.kh)
	require.NoError(t, err)
	want := knownhosts.Line([]string{srv.Addr}, srv.HostKeys[0].PublicKey()) + "\n"
	assert.Equal(t, want, string(data))
	st, err := os.Stat(filepath.Dir(env.kh))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	assert.Equal(t, []string{fmt.Sprintf("nodes: web1: added ssh-ed25519 host key %s to ~/.ssh/known_hosts",
		ssh.FingerprintSHA256(srv.HostKeys[0].PublicKey()))}, rec.Lines())

	// The recorded key now satisfies "yes", in this Dialer and a fresh one.
	c, err := dial(t, d, "web2")
	require.NoError(t, err)
	c.Close()
	d2, _ := env.dialer(Options{StrictHostKeyChecking: "yes"})
	c, err = dial(t, d2, "web2")
	require.NoError(t, err)
	c.Close()
}

func TestHostKeyAcceptNewHashed(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv, "HashKnownHosts yes")
	d, _ := env.dialer(Options{StrictHostKeyChecking: "accept-new"})
	c, err := dial(t, d, "web1")
	require.NoError(t, err)
	c.Close()
	data, err := os.ReadFile(env.kh)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), "|1|"), "hashed host name: %q", data)
	assert.NotContains(t, string(data), "127.0.0.1")
	assert.Equal(t, 1, strings.Count(string(data), "\n"))

	d, _ = env.dialer(Options{StrictHostKeyChecking: "yes"})
	c, err = dial(t, d, "web1")
	require.NoError(t, err, "the hashed entry matches")
	c.Close()
}

func TestHostKeyAcceptNewAppendsAfterNoNewline(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv)
	require.NoError(t, os.MkdirAll(filepath.Dir(env.kh), 0o700))
	require.NoError(t, os.WriteFile(env.kh, []byte("# no trailing newline"), 0o600))
	d, _ := env.dialer(Options{StrictHostKeyChecking: "accept-new"})
	c, err := dial(t, d, "web1")
	require.NoError(t, err)
	c.Close()
	data, err := os.ReadFile(env.kh)
	require.NoError(t, err)
	assert.Equal(t, "# no trailing newline\n"+knownhosts.Line([]string{srv.Addr}, srv.HostKeys[0].PublicKey())+"\n", string(data))
}

func TestHostKeyNoAcceptsWithoutWriting(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv, "StrictHostKeyChecking no")
	d, _ := env.dialer(Options{})
	c, err := dial(t, d, "web1")
	require.NoError(t, err)
	c.Close()
	assert.NoFileExists(t, env.kh)
}

func TestHostKeyChangedAlwaysRefused(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv)
	require.NoError(t, os.MkdirAll(filepath.Dir(env.kh), 0o700))
	require.NoError(t, os.WriteFile(env.kh, []byte("# header\nother.example.com "+
		strings.TrimSpace(string(ssh.MarshalAuthorizedKey(newEd25519Signer(t).PublicKey())))+"\n"), 0o600))
	old := newEd25519Signer(t).PublicKey()
	env.trust(srv, old) // line 3
	before, err := os.ReadFile(env.kh)
	require.NoError(t, err)

	for _, mode := range []string{"yes", "accept-new", "no"} {
		d, _ := env.dialer(Options{StrictHostKeyChecking: mode})
		_, err := dial(t, d, "web1")
		hk := asError[*HostKeyError](t, err)
		assert.True(t, hk.Changed, mode)
		assert.Equal(t, 3, hk.OldLine)
		assert.Equal(t, fmt.Sprintf("nodes: web1: host key changed: the server offered ssh-ed25519 %s but ~/.ssh/known_hosts:3 "+
			"holds a different key for this host (possible man-in-the-middle attack); if the change is expected, remove that line",
			ssh.FingerprintSHA256(srv.HostKeys[0].PublicKey())), err.Error(), mode)
		var ke *knownhosts.KeyError
		assert.ErrorAs(t, err, &ke)
	}
	after, err := os.ReadFile(env.kh)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "a changed key is never recorded")
}

func TestHostKeyUnderAliasNotConsulted(t *testing.T) {
	// OpenSSH looks the key up under HostName (or HostKeyAlias) only: a key
	// on file under the alias name neither rescues nor blocks.
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv)
	require.NoError(t, os.MkdirAll(filepath.Dir(env.kh), 0o700))
	line := knownhosts.Line([]string{fmt.Sprintf("web1:%d", srv.Port)}, newEd25519Signer(t).PublicKey())
	require.NoError(t, os.WriteFile(env.kh, []byte(line+"\n"), 0o600))
	d, _ := env.dialer(Options{})
	_, err := dial(t, d, "web1")
	assert.True(t, asError[*HostKeyError](t, err).Unknown)

	require.NoError(t, os.WriteFile(env.kh, []byte(knownhosts.Line([]string{fmt.Sprintf("web1:%d", srv.Port)}, srv.HostKeys[0].PublicKey())+"\n"), 0o600))
	d, _ = env.dialer(Options{})
	_, err = dial(t, d, "web1")
	assert.True(t, asError[*HostKeyError](t, err).Unknown)
}

func TestHostKeyRevoked(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv)
	require.NoError(t, os.MkdirAll(filepath.Dir(env.kh), 0o700))
	require.NoError(t, os.WriteFile(env.kh, []byte("@revoked * "+string(ssh.MarshalAuthorizedKey(srv.HostKeys[0].PublicKey()))), 0o600))
	d, _ := env.dialer(Options{StrictHostKeyChecking: "no"})
	_, err := dial(t, d, "web1")
	hk := asError[*HostKeyError](t, err)
	assert.True(t, hk.Revoked)
	assert.Equal(t, fmt.Sprintf("nodes: web1: host key ssh-ed25519 %s is revoked (~/.ssh/known_hosts:1)",
		ssh.FingerprintSHA256(srv.HostKeys[0].PublicKey())), err.Error())
}

func TestHostKeyAlgorithmsFromKnownHosts(t *testing.T) {
	// x/crypto prefers ECDSA over Ed25519; without HostKeyAlgorithms an
	// Ed25519-only known_hosts entry would be reported as a changed key.
	ed, ec := newEd25519Signer(t), newECDSASigner(t)
	for _, tt := range []struct {
		name   string
		onFile ssh.PublicKey
		algos  []string
	}{
		{"ecdsa on file", ec.PublicKey(), []string{ssh.KeyAlgoECDSA256}},
		{"ed25519 on file", ed.PublicKey(), []string{ssh.KeyAlgoED25519}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, env := hostKeySetup(t, sshtest.Options{HostKeys: []ssh.Signer{ed, ec}})
			env.host("web1", srv)
			env.trust(srv, tt.onFile)
			d, _ := env.dialer(Options{})
			tg := resolve(t, d, "web1")
			db, err := d.knownHosts(tg)
			require.NoError(t, err)
			algos := plainAlgos(hostKeyAlgorithms(db, tg))
			require.NotEmpty(t, algos)
			assert.Equal(t, tt.algos, algos[:len(tt.algos)], "the types on file come first")
			assert.Contains(t, algos, ssh.KeyAlgoED25519)
			assert.Contains(t, algos, ssh.KeyAlgoECDSA256)
			c, err := dial(t, d, "web1")
			require.NoError(t, err)
			c.Close()
		})
	}
}

func TestHostKeyTypeGoneIsChanged(t *testing.T) {
	// known_hosts has only an ECDSA key but the server now has only Ed25519:
	// that is a changed key, not an algorithm negotiation failure.
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv)
	env.trust(srv, newECDSASigner(t).PublicKey())
	d, _ := env.dialer(Options{StrictHostKeyChecking: "accept-new"})
	_, err := dial(t, d, "web1")
	assert.True(t, asError[*HostKeyError](t, err).Changed)
}

func TestHostKeyAlgorithmsRSA(t *testing.T) {
	// ssh-rsa on file allows the SHA-2 signature algorithms first.
	env := newClientEnv(t)
	require.NoError(t, os.MkdirAll(filepath.Dir(env.kh), 0o700))
	rsaPub := "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDGUvEyoSHBb2AHqrUYMr1Fq8KpQTEVuQFWIwMw0WMmz9UqOYYyQn0xgGRAd0uDEnRdOsNvM1vz2QMwrLqcDdXBWMEjRB5DPmXN2SEwTX8XZBSNg0HkJHQNV4oXqfoSq2l8wjHN5kYQIY/x3AjG7gT0EpuVRNVaW2AL8VbG1QmvMQ=="
	require.NoError(t, os.WriteFile(env.kh, []byte("[127.0.0.1]:2022 ssh-rsa "+rsaPub+"\n"), 0o600))
	d, _ := env.dialer(Options{})
	tg := resolve(t, d, "127.0.0.1:2022")
	db, err := d.knownHosts(tg)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}, plainAlgos(hostKeyAlgorithms(db, tg))[:3])
	assert.Nil(t, hostKeyAlgorithms(db, resolve(t, d, "127.0.0.1:2023")), "unknown host: x/crypto defaults")
}

func TestHostKeyRecordFails(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	blocker := filepath.Join(env.home, "file")
	require.NoError(t, writeFile(blocker, "x"))
	env.host("web1", srv, "UserKnownHostsFile "+filepath.Join(blocker, "known_hosts"))
	d, _ := env.dialer(Options{StrictHostKeyChecking: "accept-new"})
	_, err := dial(t, d, "web1")
	hk := asError[*HostKeyError](t, err)
	assert.True(t, hk.Unknown)
	assert.Contains(t, err.Error(), "nodes: web1: host key unknown and could not be recorded: mkdir "+blocker+": not a directory")
}

func TestKnownHostsCorruptLineSkipped(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv)
	require.NoError(t, os.MkdirAll(filepath.Dir(env.kh), 0o700))
	require.NoError(t, os.WriteFile(env.kh, []byte("web1 ssh-ed25519 !!!notbase64\n"), 0o600))
	env.trust(srv)
	d, rec := env.dialer(Options{})
	c, err := dial(t, d, "web1")
	require.NoError(t, err)
	c.Close()
	require.Len(t, rec.Lines(), 1)
	assert.True(t, strings.HasPrefix(rec.Lines()[0], "nodes: ~/.ssh/known_hosts:1: skipping malformed known_hosts line: "), rec.Lines()[0])
}

// plainAlgos drops the certificate algorithms (which OpenSSH, and drove,
// put next to the plain algorithm of a key type on file).
func plainAlgos(algos []string) []string {
	var out []string
	for _, a := range algos {
		if !strings.Contains(a, "-cert-") {
			out = append(out, a)
		}
	}
	return out
}

// TestHostKeyNoPinsForTheRun: StrictHostKeyChecking no accepts an unseen
// key, but only one per name for the whole run: the same name offering
// another key later (a node back with a new key, readmitted) is refused as
// changed. Two servers with different keys share one HostKeyAlias here.
func TestHostKeyNoPinsForTheRun(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	other := startServer(t, sshtest.Options{}) // any client key, another host key
	env.host("web1", srv, "StrictHostKeyChecking no", "HostKeyAlias pinned")
	env.host("web1-again", other, "StrictHostKeyChecking no", "HostKeyAlias pinned")
	d, _ := env.dialer(Options{})
	c, err := dial(t, d, "web1")
	require.NoError(t, err)
	c.Close()
	c, err = dial(t, d, "web1")
	require.NoError(t, err, "the same key again is fine")
	c.Close()
	_, err = dial(t, d, "web1-again")
	hk := asError[*HostKeyError](t, err)
	assert.True(t, hk.Changed)
	assert.Contains(t, err.Error(), "host key changed during this run")
}
