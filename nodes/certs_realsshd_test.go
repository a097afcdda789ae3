//go:build slow && unix

package nodes

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keygen runs ssh-keygen with args, failing the test on error.
func keygen(t *testing.T, args ...string) {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skipf("no ssh-keygen: %v", err)
	}
	out, err := exec.Command(p, args...).CombinedOutput()
	require.NoError(t, err, "ssh-keygen %s: %s", strings.Join(args, " "), out)
}

// certCluster is one real sshd node that trusts a user CA (TrustedUserCAKeys)
// and presents a host certificate (HostCertificate), both made with
// ssh-keygen -s.
type certCluster struct {
	c       *sshdtest.Cluster
	dir     string
	userCA  string // private key of the user CA
	hostCA  string // private key of the host CA
	hostPub string // the host CA public key line
}

func startCertCluster(t *testing.T) *certCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("real sshd tests skipped with -short")
	}
	sshClient(t)
	dir, err := os.MkdirTemp("", "drove-certs-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	cc := &certCluster{dir: dir, userCA: filepath.Join(dir, "user_ca"), hostCA: filepath.Join(dir, "host_ca")}
	keygen(t, "-q", "-t", "ed25519", "-N", "", "-C", "user-ca", "-f", cc.userCA)
	keygen(t, "-q", "-t", "ed25519", "-N", "", "-C", "host-ca", "-f", cc.hostCA)
	hp, err := os.ReadFile(cc.hostCA + ".pub")
	require.NoError(t, err)
	cc.hostPub = strings.TrimSpace(string(hp))

	cc.c = sshdtest.Start(t, sshdtest.Options{ExtraConfig: []string{"TrustedUserCAKeys " + cc.userCA + ".pub"}})
	n := cc.c.Nodes[0]
	// Sign the node's host key and restart it with the certificate.
	hostPub := filepath.Join(dir, "host_key.pub")
	require.NoError(t, os.WriteFile(hostPub, []byte(n.HostKeyPub+"\n"), 0o644))
	keygen(t, "-q", "-s", cc.hostCA, "-h", "-I", "node1-host", "-n", n.Host+",node1.example", "-V", "-5m:+1h", hostPub)
	cfg, err := os.ReadFile(n.Config)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(n.Config, append(cfg, []byte("HostCertificate "+filepath.Join(dir, "host_key-cert.pub")+"\n")...), 0o644))
	n.Kill(t)
	n.Restart(t)
	return cc
}

// userKey writes a fresh client key (not in authorized_keys) at path and
// path.pub and returns it; with cert, path-cert.pub is signed by the user CA
// for the login user.
func (cc *certCluster) userKey(t *testing.T, path string, cert bool) clientKey {
	t.Helper()
	k := newClientKey(t)
	k.write(t, path, true)
	if cert {
		keygen(t, "-q", "-s", cc.userCA, "-I", "drove-test", "-n", cc.c.User, "-V", "-5m:+1h", path+".pub")
	}
	return k
}

// config writes an ssh_config for node1 with lines and returns its path.
func (cc *certCluster) config(t *testing.T, dir string, kh string, lines ...string) string {
	t.Helper()
	n := cc.c.Nodes[0]
	var b strings.Builder
	fmt.Fprintf(&b, "Host node1\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	fmt.Fprintf(&b, "  HostName %s\n  Port %d\n  User %s\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile none\n  StrictHostKeyChecking yes\n",
		n.Host, n.Port, cc.c.User, kh)
	p := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p
}

func droveConnects(t *testing.T, cfg, home string) (bool, error, []string) {
	t.Helper()
	d, rec := newTestDialer(t, Options{ConfigFile: cfg, Home: home})
	tg := resolve(t, d, "node1")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, tg)
	if err != nil {
		return false, err, rec.Lines()
	}
	defer c.Close()
	out := run(t, c, "id -un")
	return strings.TrimSpace(out) != "", nil, rec.Lines()
}

// TestRealSSHDCertificates: user certificates (FILE-cert.pub, CertificateFile,
// agent-held keys) against a node trusting a user CA, and a host certificate
// against @cert-authority known_hosts lines. ssh(1) with the same files is
// the oracle for every case.
func TestRealSSHDCertificates(t *testing.T) {
	cc := startCertCluster(t)
	n := cc.c.Nodes[0]
	caLine := "@cert-authority " + n.Host + " " + cc.hostPub // without port: the bare-name retry
	caPortLine := fmt.Sprintf("@cert-authority [%s]:%d %s", n.Host, n.Port, cc.hostPub)
	plainLine := fmt.Sprintf("[%s]:%d %s", n.Host, n.Port, n.HostKeyPub)
	staleIP := fmt.Sprintf("[%s]:%d %s", n.Host, n.Port, authLine(newEd25519Signer(t).PublicKey()))

	type tc struct {
		name  string
		kh    []string
		setup func(t *testing.T, dir string) []string // ssh_config lines
		want  bool
	}
	certFile := func(t *testing.T, dir string) []string {
		k := filepath.Join(dir, "id")
		cc.userKey(t, k, true)
		return []string{"IdentityFile " + k, "IdentitiesOnly yes", "IdentityAgent none"}
	}
	cases := []tc{
		{name: "FILE-cert.pub next to the identity file", kh: []string{caLine}, want: true, setup: certFile},
		{name: "no certificate", kh: []string{caLine}, want: false, setup: func(t *testing.T, dir string) []string {
			k := filepath.Join(dir, "id")
			cc.userKey(t, k, false)
			return []string{"IdentityFile " + k, "IdentitiesOnly yes", "IdentityAgent none"}
		}},
		{name: "CertificateFile", kh: []string{caPortLine}, want: true, setup: func(t *testing.T, dir string) []string {
			k := filepath.Join(dir, "id")
			cc.userKey(t, k, true)
			other := filepath.Join(dir, "elsewhere.pub")
			require.NoError(t, os.Rename(k+"-cert.pub", other))
			return []string{"IdentityFile " + k, "CertificateFile " + other, "IdentitiesOnly yes", "IdentityAgent none"}
		}},
		{name: "agent key with CertificateFile", kh: []string{caLine}, want: true, setup: func(t *testing.T, dir string) []string {
			k := filepath.Join(dir, "id")
			key := cc.userKey(t, k, true)
			sock := startAgent(t, key)
			require.NoError(t, os.Remove(k))
			require.NoError(t, os.Remove(k+".pub"))
			return []string{"IdentityFile " + filepath.Join(dir, "none"), "CertificateFile " + k + "-cert.pub", "IdentityAgent " + sock}
		}},
		{name: "agent key with FILE.pub and FILE-cert.pub", kh: []string{caLine}, want: true, setup: func(t *testing.T, dir string) []string {
			k := filepath.Join(dir, "id")
			key := cc.userKey(t, k, true)
			sock := startAgent(t, key)
			require.NoError(t, os.Remove(k))
			return []string{"IdentityFile " + k, "IdentitiesOnly yes", "IdentityAgent " + sock}
		}},
		{name: "host cert, unknown host", kh: []string{caPortLine}, want: true, setup: certFile},
		{name: "host cert on the bare-name retry beats a stale plain key", kh: []string{caLine, staleIP}, want: true, setup: certFile},
		{name: "host cert with plain key on file", kh: []string{plainLine}, want: true, setup: certFile},
		{name: "host CA revoked, plain unknown", kh: []string{caLine, "@revoked * " + cc.hostPub}, want: false, setup: certFile},
		{name: "host cert principal via HostKeyAlias", kh: []string{"@cert-authority node1.example " + cc.hostPub}, want: true,
			setup: func(t *testing.T, dir string) []string { return append(certFile(t, dir), "HostKeyAlias node1.example") }},
		{name: "host cert, HostKeyAlias not a principal", kh: []string{"@cert-authority other.example " + cc.hostPub}, want: false,
			setup: func(t *testing.T, dir string) []string { return append(certFile(t, dir), "HostKeyAlias other.example") }},
		{name: "malformed line, CA line, stale key under the IP", want: true, setup: func(t *testing.T, dir string) []string {
			return append(certFile(t, dir), "HostKeyAlias node1.example", "CheckHostIP yes")
		}, kh: []string{"this line is not a known_hosts entry", "@cert-authority node1.example " + cc.hostPub, staleIP}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "drove-cc-") // short paths: agent sockets
			require.NoError(t, err)
			t.Cleanup(func() { os.RemoveAll(dir) })
			kh := filepath.Join(dir, "known_hosts")
			require.NoError(t, os.WriteFile(kh, []byte(strings.Join(c.kh, "\n")+"\n"), 0o600))
			lines := c.setup(t, dir)
			cfg := cc.config(t, dir, kh, lines...)
			ok, out := openSSHConnects(t, cfg, "node1")
			require.Equal(t, c.want, ok, "OpenSSH is the oracle; this case's expectation is wrong: %s", out)
			got, err, notes := droveConnects(t, cfg, dir)
			assert.Equal(t, ok, got, "drove: %v (notes %q); ssh: %s", err, notes, out)
		})
	}
}
