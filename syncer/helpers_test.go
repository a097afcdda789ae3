package syncer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/runner"
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

// partTree writes n files in n/2 directories and returns SRC.
func partTree(t *testing.T, dir string, n int) string {
	t.Helper()
	src := filepath.Join(dir, "src")
	for i := range n {
		d := filepath.Join(src, fmt.Sprintf("d%02d", i/2))
		require.NoError(t, os.MkdirAll(d, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, fmt.Sprint(i)), []byte(strings.Repeat("x", i)), 0o644))
	}
	return src
}

// rsyncParts syncs a tree of n files (partTree) in a fresh directory with
// rsync on nodes: 3 files a partition, a final pass, a failed node
// evicted, 3 attempts a partition at most. It returns the result, SRC and
// DST.
func rsyncParts(t *testing.T, n int, nodes []Node) (*Result, string, string) {
	t.Helper()
	dir := t.TempDir()
	src, dst := partTree(t, dir, n), filepath.Join(dir, "dst")
	res, err := Run(context.Background(), Options{
		Src: src, Dst: dst, Work: filepath.Join(dir, "work"), Tool: copytool.Rsync,
		MaxFiles: 3, FinalPass: true, Nodes: nodes, OnFailure: runner.Evict, MaxAttempts: 3,
	})
	require.NoError(t, err)
	return res, src, dst
}

// staleDirs are a sync's directories in a fresh directory (dir), and other:
// a copy of SRC, as a node whose view of SRC is stale sees it.
type staleDirs struct{ dir, src, dst, work, other string }

// newStaleDirs writes each of files, holding its own path, into both SRC
// and other.
func newStaleDirs(t *testing.T, files ...string) staleDirs {
	t.Helper()
	dir := t.TempDir()
	d := staleDirs{dir: dir, src: filepath.Join(dir, "src"), dst: filepath.Join(dir, "dst"),
		work: filepath.Join(dir, "work"), other: filepath.Join(dir, "other")}
	for _, p := range files {
		for _, root := range []string{d.src, d.other} {
			require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(p), 0o644))
		}
	}
	return d
}

// firstListed is the first entry of partition 1's list in the work
// directory work, whose entries end with sep ("\x00" for rsync, "\n" for
// rclone).
func firstListed(t *testing.T, work, sep string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(work, "lists", "1", "part.000001"))
	require.NoError(t, err)
	return strings.Split(string(b), sep)[0]
}

// daemonServes makes cmd, a copy's command whose rsync daemon module (see
// confine.go) serves src, serve other instead.
func daemonServes(t *testing.T, cmd, src, other string) string {
	t.Helper()
	module := "path = " + src + "/"
	require.Contains(t, cmd, module)
	return strings.ReplaceAll(cmd, module, "path = "+other+"/")
}
