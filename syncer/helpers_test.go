package syncer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/stretchr/testify/require"
)

// canConfine reports whether copy.sh confines rclone here, run as wrap
// says (a container may refuse mount namespaces, a kernel user namespaces).
func canConfine(t *testing.T, wrap []string) bool {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	o := Options{Src: dir, Tool: copytool.Rclone}
	args := append(append([]string{}, wrap...), "sh", "-c", o.copyScript("rclone-confined", "true", "", "", os.DevNull, keep{}))
	out, err := exec.Command(args[0], args[1:]...).Output()
	require.NoError(t, err)
	return !strings.Contains(string(out), unconfinedWord)
}
