package completion

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNodes(t *testing.T) {
	home := t.TempDir()
	ssh := filepath.Join(home, ".ssh")
	require.NoError(t, os.MkdirAll(filepath.Join(ssh, "d"), 0o700))
	write := func(name, s string) string {
		p := filepath.Join(ssh, name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o600))
		return p
	}
	cfg := write("config", "# c\nHOST a \"b\" c?d\n  Include d/*\nInclude ~/.ssh/extra\nHost=e\tf # comment\nMatch all\nHostName notahost\nInclude loop\n")
	write("d/one", "Host g\n")
	write("extra", "host h\n")
	write("loop", "Include loop\nHost i\n") // includes itself: bounded
	kh := write("known_hosts", "j,192.0.2.1,2001:db8::1 ssh-ed25519 AAAA\n@cert-authority k ssh-ed25519 AAAA\n@revoked l ssh-ed25519 AAAA\n[m]:2200,[n]:22,[o]:x ssh-rsa AAAA\n|1|x|y ssh-rsa AAAA\n!p,q* ssh-rsa AAAA\n\n# comment\n")
	got := Nodes(home, ssh, []string{cfg, filepath.Join(ssh, "missing")}, []string{kh, filepath.Join(ssh, "missing")})
	require.Equal(t, []string{"a", "b", "e", "f", "g", "h", "i", "j", "k", "m:2200", "n"}, got)
}
