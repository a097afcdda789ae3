package partition

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in ../testdata/partition")

// golden compares got with ../testdata/partition/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("..", "testdata", "partition", name)
	if *update {
		require.NoError(t, os.WriteFile(p, []byte(got), 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test ./partition -run %s -update to create it", t.Name())
	require.Equal(t, string(want), got, "golden file %s (rerun with -update if the change is intended)", p)
}

// treeSpec describes a generated tree.
type treeSpec struct {
	seed      uint64
	files     int
	dirs      int
	symlinks  int
	emptyDirs int
	maxSize   int64 // long tail: most files are small, a few reach maxSize
}

// genTree creates a reproducible tree under a new temporary directory:
// sparse files (Truncate), so big sizes cost no disk.
func genTree(t testing.TB, s treeSpec) string {
	t.Helper()
	root := t.TempDir()
	rng := rand.New(rand.NewPCG(s.seed, 42))
	dirs := []string{root}
	for i := range s.dirs {
		parent := dirs[rng.IntN(len(dirs))]
		d := filepath.Join(parent, fmt.Sprintf("d%03d", i))
		require.NoError(t, os.Mkdir(d, 0o755))
		dirs = append(dirs, d)
	}
	for i := range s.files {
		d := dirs[rng.IntN(len(dirs))]
		f, err := os.Create(filepath.Join(d, fmt.Sprintf("f%05d", i)))
		require.NoError(t, err)
		// Long tail: size = maxSize * u^4.
		u := rng.Float64()
		require.NoError(t, f.Truncate(int64(float64(s.maxSize)*u*u*u*u)))
		require.NoError(t, f.Close())
	}
	for i := range s.symlinks {
		d := dirs[rng.IntN(len(dirs))]
		require.NoError(t, os.Symlink(fmt.Sprintf("target-%d", i), filepath.Join(d, fmt.Sprintf("l%03d", i))))
	}
	for i := range s.emptyDirs {
		d := dirs[rng.IntN(len(dirs))]
		require.NoError(t, os.Mkdir(filepath.Join(d, fmt.Sprintf("e%03d", i)), 0o755))
	}
	return root
}

// treeEntries lists what a complete listing of root holds, with sizes:
// regular files and symlinks, plus empty directories if emptyDirs.
func treeEntries(t testing.TB, root string, emptyDirs bool) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		require.NoError(t, err)
		switch {
		case d.IsDir():
			if emptyDirs {
				es, err := os.ReadDir(p)
				require.NoError(t, err)
				if len(es) == 0 {
					out[rel] = 0
				}
			}
		case info.Mode().IsRegular() || info.Mode()&fs.ModeSymlink != 0:
			out[rel] = info.Size()
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// readList splits a list file on sep; the last entry must be terminated.
func readList(t testing.TB, p string, sep byte) []string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	if len(b) == 0 {
		return nil
	}
	require.Equal(t, sep, b[len(b)-1], "list %s must end with its separator", p)
	return strings.Split(string(b[:len(b)-1]), string(sep))
}

// runAll runs Run and returns the partitions in emitted order.
func runAll(t testing.TB, opts Options) ([]Partition, Summary, error) {
	t.Helper()
	var parts []Partition
	sum, err := Run(context.Background(), opts, func(p Partition) error {
		parts = append(parts, p)
		return nil
	}, nil)
	return parts, sum, err
}

// renderLists renders partitions and their lists for golden files, with
// each entry Go-quoted so newlines and NULs stay visible.
func renderLists(t testing.TB, parts []Partition, sep byte) string {
	t.Helper()
	var b bytes.Buffer
	for _, p := range parts {
		fmt.Fprintf(&b, "%s files=%d bytes=%d\n", filepath.Base(p.ListPath), p.Files, p.Bytes)
		for _, e := range readList(t, p.ListPath, sep) {
			fmt.Fprintf(&b, "  %q\n", e)
		}
	}
	return b.String()
}

// mkFiles creates files (with parents) under root; names ending in "/" are
// directories.
func mkFiles(t *testing.T, root string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(root, n)
		if n[len(n)-1] == '/' {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(n), 0o644))
	}
}
