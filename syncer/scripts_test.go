package syncer

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestScriptsJoinIntoOneLine: every embedded script means the same joined
// into one line (oneLine): each line that is not a comment ends a command
// or continues one, the joined text parses (sh -n, awk's own check), and
// shellcheck finds nothing in the shell scripts.
func TestScriptsJoinIntoOneLine(t *testing.T) {
	cont := []string{";", "&&", "||", "|", "{", "then", "do", "else", "in", ";;", ")", "("}
	for name, script := range map[string]string{"copy.sh": copySh, "confine.sh": confineSh, "rsyncd.sh": rsyncdSh, "keep.sh": keepSh, "mountinfo.awk": mountinfoAwk} {
		t.Run(name, func(t *testing.T) {
			for i, l := range strings.Split(strings.TrimSuffix(script, "\n"), "\n") {
				l = strings.TrimSpace(l)
				if l == "" || strings.HasPrefix(l, "#") {
					continue
				}
				ok := false
				for _, c := range cont {
					ok = ok || strings.HasSuffix(l, c)
				}
				if strings.HasSuffix(name, ".awk") {
					ok = ok || strings.HasSuffix(l, "}")
				}
				require.True(t, ok, "%s:%d does not end a command: %s", name, i+1, l)
			}
			line := oneLine(script)
			require.NotContains(t, line, "\n")
			if strings.HasSuffix(name, ".awk") {
				out, err := exec.Command("awk", line, "/dev/null").CombinedOutput()
				require.NoError(t, err, "%s", out)
				return
			}
			out, err := exec.Command("sh", "-n", "-c", line).CombinedOutput()
			require.NoError(t, err, "%s", out)
			if _, err := exec.LookPath("shellcheck"); err != nil {
				t.Skip("shellcheck is not installed")
			}
			out, err = exec.Command("shellcheck", filepath.Join("scripts", name)).CombinedOutput()
			require.NoError(t, err, "%s", out)
		})
	}
}
