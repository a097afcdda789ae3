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

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestHostKeyNoRecordsAsOpenSSH: under StrictHostKeyChecking no an unknown
// host's key is recorded as ssh records it ("Permanently added"): the
// known_hosts drove writes is the one ssh -o StrictHostKeyChecking=no
// writes, byte for byte, and with HashKnownHosts yes one hashed line for
// the same name and key (the salt is random), which ssh-keygen -F finds.
func TestHostKeyNoRecordsAsOpenSSH(t *testing.T) {
	sshBin := sshClient(t)
	for _, hashed := range []bool{false, true} {
		t.Run(fmt.Sprintf("hashed=%v", hashed), func(t *testing.T) {
			key := newClientKey(t)
			srv := startServer(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{key.pub}})
			env := newClientEnv(t)
			idFile := filepath.Join(env.home, ".ssh", "id_ed25519")
			key.write(t, idFile, false)
			hash := "HashKnownHosts no"
			if hashed {
				hash = "HashKnownHosts yes"
			}
			env.host("web1", srv, "StrictHostKeyChecking no", hash)
			d, rec := env.dialer(Options{})
			c, err := dial(t, d, "web1")
			require.NoError(t, err)
			c.Close()
			drove, err := os.ReadFile(env.kh)
			require.NoError(t, err, "drove recorded nothing")
			assert.Equal(t, []string{fmt.Sprintf("nodes: web1: added ssh-ed25519 host key %s to ~/.ssh/known_hosts",
				ssh.FingerprintSHA256(srv.HostKeys[0].PublicKey()))}, rec.Lines())

			oracle := filepath.Join(t.TempDir(), "known_hosts")
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, sshBin, "-F", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
				"-o", "UserKnownHostsFile="+oracle, "-o", "GlobalKnownHostsFile=/dev/null", "-o", hash,
				"-o", "IdentitiesOnly=yes", "-i", idFile, "-p", fmt.Sprint(srv.Port), "127.0.0.1", "true")
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Contains(t, string(out), "Permanently added")
			want, err := os.ReadFile(oracle)
			require.NoError(t, err)
			if !hashed {
				assert.Equal(t, string(want), string(drove))
				return
			}
			fields := func(b []byte) []string {
				require.Equal(t, 1, strings.Count(string(b), "\n"), "one line: %q", b)
				f := strings.Fields(string(b))
				require.Len(t, f, 3)
				require.True(t, strings.HasPrefix(f[0], "|1|"), "hashed: %q", b)
				return f
			}
			assert.Equal(t, fields(want)[1:], fields(drove)[1:])
			found, err := exec.Command("ssh-keygen", "-F", fmt.Sprintf("[127.0.0.1]:%d", srv.Port), "-f", env.kh).CombinedOutput()
			require.NoError(t, err, "ssh-keygen -F does not find drove's hashed line: %s", found)
		})
	}
}

// TestHostKeyPinnedForTheRunInEveryMode: whatever StrictHostKeyChecking
// says, a name keeps the first key it was accepted with for the whole
// run: a node back later with another key (here another server under the
// same HostKeyAlias) is refused as changed, even when known_hosts holds
// both keys (yes, where ssh would accept either) or records nothing
// (no, with UserKnownHostsFile /dev/null).
func TestHostKeyPinnedForTheRunInEveryMode(t *testing.T) {
	for _, mode := range []string{"yes", "accept-new", "no"} {
		t.Run(mode, func(t *testing.T) {
			srv, env := hostKeySetup(t, sshtest.Options{})
			back := startServer(t, sshtest.Options{}) // any client key, another host key
			extra := []string{"StrictHostKeyChecking " + mode, "HostKeyAlias pinned"}
			if mode == "no" {
				extra = append(extra, "UserKnownHostsFile /dev/null")
			}
			env.host("web1", srv, extra...)
			env.host("web1-back", back, extra...)
			if mode == "yes" {
				env.trustAt("pinned:22", srv.HostKeys[0].PublicKey(), back.HostKeys[0].PublicKey())
			}
			d, _ := env.dialer(Options{})
			for range 2 {
				c, err := dial(t, d, "web1")
				require.NoError(t, err, "the same key again is fine")
				c.Close()
			}
			_, err := dial(t, d, "web1-back")
			hk := asError[*HostKeyError](t, err)
			assert.True(t, hk.Changed)
			assert.False(t, Retryable(err))
			if mode != "accept-new" { // accept-new recorded the first key: the file refuses the second
				assert.Contains(t, err.Error(), "host key changed during this run")
			}
		})
	}
}
