package hostlist

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUserNamesOpenSSHRefuses: every user name drove accepts in a node
// spec, ssh accepts on its command line too (drove allows fewer
// characters); a name ending in a backslash (CVE-2023-51385) and the shell
// metacharacters ssh refuses are refused by both.
func TestUserNamesOpenSSHRefuses(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("ssh is not installed")
	}
	for _, u := range []string{`a\`, `a\\`, `a\b`, `a;b`, `a{b`, `a|b`, `a.b-c_d`, `a$b`, `a+b~`, `a'b`, "a`b", `a"b`, `a&b`, `a(b`} {
		_, derr := ParseSpec(u + "@host")
		out, _ := exec.Command("ssh", "-F", "none", "-G", u+"@host").CombinedOutput()
		sshOK := strings.Contains(string(out), "\nuser "+u+"\n") || strings.HasPrefix(string(out), "user "+u+"\n")
		if derr == nil {
			require.True(t, sshOK, "drove accepts user %q, ssh -G does not: %s", u, out)
		}
		if strings.HasSuffix(u, `\`) {
			require.Error(t, derr, "user %q", u)
			require.False(t, sshOK, "ssh accepts %q: the oracle changed", u)
		}
	}
}
