package nodes

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshClient returns the path of OpenSSH's ssh, or skips the test.
func sshClient(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no ssh client in CI: %v", err)
		}
		t.Skipf("no ssh client: %v", err)
	}
	return p
}

// openSSHConnects runs `ssh -F cfg -o BatchMode=yes alias true` and reports
// whether it logged in; its stderr is returned for messages. HOME points at
// an empty directory so that nothing of the user's leaks in.
func openSSHConnects(t *testing.T, cfg, alias string) (bool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sshClient(t), "-F", cfg, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", alias, "true")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	return err == nil, string(out)
}

// signHostCert makes a host certificate for signer's key, signed by ca.
func signHostCert(t *testing.T, ca, host ssh.Signer, principals ...string) ssh.Signer {
	t.Helper()
	cert := &ssh.Certificate{
		Key:             host.PublicKey(),
		CertType:        ssh.HostCert,
		KeyId:           "test host",
		ValidPrincipals: principals,
		ValidAfter:      uint64(time.Now().Add(-time.Hour).Unix()),
		ValidBefore:     uint64(time.Now().Add(time.Hour).Unix()),
	}
	require.NoError(t, cert.SignCert(rand.Reader, ca))
	cs, err := ssh.NewCertSigner(cert, host)
	require.NoError(t, err)
	return cs
}

func authLine(k ssh.PublicKey) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) }

// TestHostKeyDecisionsMatchOpenSSH sets up known_hosts and ssh_config cases
// and requires drove to connect exactly when OpenSSH's ssh connects (with
// BatchMode, so "ask" refuses an unknown host as drove does).
func TestHostKeyDecisionsMatchOpenSSH(t *testing.T) {
	sshClient(t)
	client := newClientKey(t)
	hostKey := newEd25519Signer(t)
	ca := newEd25519Signer(t)
	otherCA := newEd25519Signer(t)
	stale := newEd25519Signer(t).PublicKey()
	cert := signHostCert(t, ca, hostKey, "127.0.0.1", "web1.example")
	wrongCert := signHostCert(t, ca, hostKey, "elsewhere.example")

	plain := startServer(t, sshtest.Options{HostKeys: []ssh.Signer{hostKey}, AuthorizedKeys: []ssh.PublicKey{client.pub}})
	both := startServer(t, sshtest.Options{HostKeys: []ssh.Signer{hostKey, cert}, AuthorizedKeys: []ssh.PublicKey{client.pub}})
	certOnly := startServer(t, sshtest.Options{HostKeys: []ssh.Signer{cert}, AuthorizedKeys: []ssh.PublicKey{client.pub}})
	wrong := startServer(t, sshtest.Options{HostKeys: []ssh.Signer{wrongCert}, AuthorizedKeys: []ssh.PublicKey{client.pub}})

	hk := authLine(hostKey.PublicKey())
	type tc struct {
		name  string
		srv   *sshtest.Server
		extra []string                         // ssh_config lines for Host web1
		kh    func(s *sshtest.Server) []string // known_hosts lines
		want  bool                             // what OpenSSH 9.2 does (checked, not assumed)
		warn  string                           // a note drove must give
	}
	at := func(s *sshtest.Server) string { return fmt.Sprintf("[127.0.0.1]:%d", s.Port) }
	cases := []tc{
		{name: "key under [host]:port", srv: plain, want: true,
			kh: func(s *sshtest.Server) []string { return []string{at(s) + " " + hk} }},
		{name: "key only under the alias is not consulted", srv: plain, want: false,
			kh: func(s *sshtest.Server) []string { return []string{fmt.Sprintf("[web1]:%d %s", s.Port, hk)} }},
		{name: "alias match does not rescue a mismatch", srv: plain, want: false,
			kh: func(s *sshtest.Server) []string {
				return []string{fmt.Sprintf("[web1]:%d %s", s.Port, hk), at(s) + " " + authLine(stale)}
			}},
		{name: "key under the bare name, other port", srv: plain, want: true,
			kh: func(s *sshtest.Server) []string { return []string{"127.0.0.1 " + hk} }},
		{name: "stale key under the bare name, other port, is just unknown", srv: plain, want: false,
			kh: func(s *sshtest.Server) []string { return []string{"127.0.0.1 " + authLine(stale)} }},
		{name: "HostKeyAlias is the name, without port", srv: plain, want: true, extra: []string{"HostKeyAlias myalias"},
			kh: func(s *sshtest.Server) []string { return []string{"myalias " + hk} }},
		{name: "HostKeyAlias with a port is not the name", srv: plain, want: false, extra: []string{"HostKeyAlias myalias"},
			kh: func(s *sshtest.Server) []string { return []string{fmt.Sprintf("[myalias]:%d %s", s.Port, hk)} }},
		{name: "HostKeyAlias hides the host name entry", srv: plain, want: false, extra: []string{"HostKeyAlias myalias"},
			kh: func(s *sshtest.Server) []string { return []string{at(s) + " " + hk} }},
		{name: "malformed line skipped", srv: plain, want: true, warn: "skipping malformed known_hosts line",
			kh: func(s *sshtest.Server) []string {
				return []string{"garbage-without-key", at(s) + " ssh-ed25519 !!!notbase64", "|1|bad|hash " + hk, "@bogus * " + hk, at(s) + " " + hk}
			}},
		{name: "stale key under the IP, CheckHostIP yes, loopback", srv: plain, want: true,
			extra: []string{"HostName localhost", "CheckHostIP yes"},
			kh: func(s *sshtest.Server) []string {
				return []string{fmt.Sprintf("[localhost]:%d %s", s.Port, hk), at(s) + " " + authLine(stale)}
			}},
		{name: "revoked", srv: plain, want: false,
			kh: func(s *sshtest.Server) []string { return []string{at(s) + " " + hk, "@revoked * " + hk} }},
		{name: "cert-authority with port pattern, cert only, unknown host", srv: certOnly, want: true,
			kh: func(s *sshtest.Server) []string {
				return []string{"@cert-authority [127.0.0.1]:* " + authLine(ca.PublicKey())}
			}},
		{name: "cert-authority wildcard pattern", srv: certOnly, want: true,
			kh: func(s *sshtest.Server) []string { return []string{"@cert-authority * " + authLine(ca.PublicKey())} }},
		{name: "cert-authority without port matches on the bare-name retry", srv: certOnly, want: true,
			kh: func(s *sshtest.Server) []string {
				return []string{"@cert-authority 127.0.0.1 " + authLine(ca.PublicKey())}
			}},
		{name: "cert from another CA", srv: certOnly, want: false,
			kh: func(s *sshtest.Server) []string {
				return []string{"@cert-authority * " + authLine(otherCA.PublicKey())}
			}},
		{name: "cert from another CA, plain key known", srv: certOnly, want: true,
			kh: func(s *sshtest.Server) []string {
				return []string{"@cert-authority * " + authLine(otherCA.PublicKey()), at(s) + " " + hk}
			}},
		{name: "cert and plain offered, CA known", srv: both, want: true,
			kh: func(s *sshtest.Server) []string { return []string{"@cert-authority * " + authLine(ca.PublicKey())} }},
		{name: "cert and plain offered, plain known", srv: both, want: true,
			kh: func(s *sshtest.Server) []string { return []string{at(s) + " " + hk} }},
		{name: "cert and plain offered, CA and stale plain", srv: both, want: true,
			kh: func(s *sshtest.Server) []string {
				return []string{"@cert-authority * " + authLine(ca.PublicKey()), at(s) + " " + authLine(stale)}
			}},
		{name: "cert for other principals, plain unknown", srv: wrong, want: false,
			kh: func(s *sshtest.Server) []string { return []string{"@cert-authority * " + authLine(ca.PublicKey())} }},
		{name: "cert for other principals, plain known", srv: wrong, want: true,
			kh: func(s *sshtest.Server) []string {
				return []string{"@cert-authority * " + authLine(ca.PublicKey()), at(s) + " " + hk}
			}},
		{name: "revoked CA", srv: certOnly, want: false,
			kh: func(s *sshtest.Server) []string {
				return []string{"@cert-authority * " + authLine(ca.PublicKey()), "@revoked * " + authLine(ca.PublicKey())}
			}},
		{name: "principal is HostKeyAlias", srv: certOnly, want: true, extra: []string{"HostKeyAlias web1.example"},
			kh: func(s *sshtest.Server) []string {
				return []string{"@cert-authority web1.example " + authLine(ca.PublicKey())}
			}},
		{name: "hashed name", srv: plain, want: true,
			kh: func(s *sshtest.Server) []string { return []string{knownhosts.HashHostname(at(s)) + " " + hk} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			kh := filepath.Join(dir, "known_hosts")
			require.NoError(t, os.WriteFile(kh, []byte(strings.Join(c.kh(c.srv), "\n")+"\n"), 0o600))
			key := filepath.Join(dir, "id")
			client.write(t, key, false)
			var b strings.Builder
			fmt.Fprintf(&b, "Host web1\n")
			for _, l := range c.extra {
				fmt.Fprintf(&b, "  %s\n", l)
			}
			fmt.Fprintf(&b, "  HostName 127.0.0.1\n  Port %d\n  User u\n  IdentityFile %s\n  IdentitiesOnly yes\n"+
				"  UserKnownHostsFile %s\n  GlobalKnownHostsFile none\n  StrictHostKeyChecking yes\n", c.srv.Port, key, kh)
			cfg := filepath.Join(dir, "config")
			require.NoError(t, os.WriteFile(cfg, []byte(b.String()), 0o600))

			ok, out := openSSHConnects(t, cfg, "web1")
			require.Equal(t, c.want, ok, "OpenSSH is the oracle; this case's expectation is wrong: %s", out)

			d, rec := newTestDialer(t, Options{ConfigFile: cfg, Home: dir})
			cl, err := dial(t, d, "web1")
			if err == nil {
				cl.Close()
			}
			assert.Equal(t, ok, err == nil, "drove: %v; ssh: %s", err, out)
			if c.warn != "" {
				n := 0
				for _, l := range rec.Lines() {
					if strings.Contains(l, c.warn) {
						n++
					}
				}
				assert.Equal(t, 4, n, "one note per bad line: %q", rec.Lines())
				// Notes are given once per Dialer, not per dial.
				cl, err := dial(t, d, "web1")
				require.NoError(t, err)
				cl.Close()
				assert.Len(t, rec.Lines(), n)
			}
		})
	}
}

// TestCheckHostIPStaleAddress drives checkHostKey with a non-loopback remote
// address (a real connection to one cannot be made in a test): with
// CheckHostIP yes a different key under the address is refused unless
// StrictHostKeyChecking is no; with the default (no) it is not looked at.
func TestCheckHostIPStaleAddress(t *testing.T) {
	dir := t.TempDir()
	key := newEd25519Signer(t).PublicKey()
	kh := filepath.Join(dir, "known_hosts")
	require.NoError(t, os.WriteFile(kh, []byte("web1.example "+authLine(key)+"\n192.0.2.7 "+authLine(newEd25519Signer(t).PublicKey())+"\n"), 0o600))
	remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 22}
	for _, c := range []struct {
		check, strict string
		refused       bool
	}{{"no", "yes", false}, {"yes", "yes", true}, {"yes", "accept-new", true}, {"yes", "no", false}} {
		cfg := filepath.Join(dir, "config")
		require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf("Host web1\n HostName web1.example\n CheckHostIP %s\n StrictHostKeyChecking %s\n UserKnownHostsFile %s\n GlobalKnownHostsFile none\n",
			c.check, c.strict, kh)), 0o600))
		d, _ := newTestDialer(t, Options{ConfigFile: cfg, Home: dir})
		tg := resolve(t, d, "web1")
		db, err := d.knownHosts(tg)
		require.NoError(t, err)
		err = d.checkHostKey(tg, db, "web1", remote, key)
		if !c.refused {
			assert.NoError(t, err, "CheckHostIP %s, strict %s", c.check, c.strict)
			continue
		}
		he := asError[*HostKeyError](t, err)
		assert.True(t, he.IPDiffers)
		assert.Equal(t, "192.0.2.7", he.IP)
		assert.Equal(t, 2, he.OldLine)
		assert.Equal(t, 1, he.HostLine)
	}
}

func TestAlgoKeyType(t *testing.T) {
	for _, a := range ssh.SupportedAlgorithms().HostKeys {
		typ, cert := algoKeyType(a)
		assert.Equal(t, strings.Contains(a, "-cert-"), cert, a)
		if cert {
			assert.Contains(t, []string{ssh.KeyAlgoRSA, ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384,
				ssh.KeyAlgoECDSA521, ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256}, typ, a)
		}
	}
	typ, _ := algoKeyType(ssh.CertAlgoSKED25519v01)
	assert.Equal(t, ssh.KeyAlgoSKED25519, typ)
}
