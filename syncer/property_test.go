package syncer

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// hostileParts make names that break careless shell, glob, list and
// temp-file handling.
var hostileParts = []string{
	"new\nline", "-dash", "--rf", "sp ace", "*", "?", "[", "a[b]c", `back\slash`, "\xff\xfenot-utf8",
	".x.AbC123", ".env.sample", ".bashrc.old123", "#hash", ";semi", "tab\there", "é☃", "$(touch pwned)",
	"'q'", `"dq"`, "cr\rx", "\\#012", "plain",
}

type snapEntry struct {
	typ   fs.FileMode
	perm  fs.FileMode
	data  string // content or link target
	mtime int64  // files only
}

// snapshot reads every entry below root, without following symlinks.
func snapshot(t *testing.T, root string) map[string]snapEntry {
	t.Helper()
	out := map[string]snapEntry{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		e := snapEntry{typ: fi.Mode().Type(), perm: fi.Mode().Perm()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.data, err = os.Readlink(p)
			require.NoError(t, err)
			e.perm = 0
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			e.data, e.mtime = string(b), fi.ModTime().UnixNano()
		}
		out[rel] = e
		return nil
	}))
	return out
}

// randomTree writes a random tree of hostile names under root and
// returns its directories (relative, "" for root).
func randomTree(t *testing.T, r *rand.Rand, root string, symlinks bool) []string {
	t.Helper()
	dirs := []string{""}
	used := map[string]bool{}
	name := func(dir string) string {
		for {
			n := hostileParts[r.IntN(len(hostileParts))]
			if r.IntN(2) == 0 {
				n += strconv.Itoa(r.IntN(100))
			}
			if rel := filepath.Join(dir, n); !used[rel] {
				used[rel] = true
				return n
			}
		}
	}
	for range 2 + r.IntN(8) {
		parent := dirs[r.IntN(len(dirs))]
		d := filepath.Join(parent, name(parent))
		require.NoError(t, os.Mkdir(filepath.Join(root, d), 0o755))
		dirs = append(dirs, d)
	}
	mt := time.Date(2022, 3, 4, 5, 6, 7, 0, time.UTC)
	for range 5 + r.IntN(40) {
		dir := dirs[r.IntN(len(dirs))]
		p := filepath.Join(root, dir, name(dir))
		if symlinks && r.IntN(8) == 0 {
			require.NoError(t, os.Symlink(hostileParts[r.IntN(len(hostileParts))], p))
			continue
		}
		data := make([]byte, r.IntN(3000))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		require.NoError(t, os.WriteFile(p, data, 0o644))
		require.NoError(t, os.Chmod(p, []fs.FileMode{0o644, 0o600, 0o755}[r.IntN(3)]))
		m := mt.Add(time.Duration(r.IntN(1e6)) * time.Second)
		require.NoError(t, os.Chtimes(p, m, m))
	}
	return dirs
}

// TestSyncProperty: for random trees of hostile names and random extra
// entries in DST (dot-files among them), a sync makes DST equal SRC plus,
// without Delete, every extra entry untouched (same content, mode and
// mtime). DROVE_LONG_TESTS=N runs 20*N seeds per variant, else 2 (rclone,
// slow to start: 1); the seed is printed on failure.
func TestSyncProperty(t *testing.T) {
	testkit.Slow(t)
	seeds := 2
	if n, _ := strconv.Atoi(os.Getenv("DROVE_LONG_TESTS")); n > 0 {
		seeds = 20 * n
	}
	base := uint64(time.Now().UnixNano())
	for _, tool := range []copytool.Tool{copytool.Rsync, copytool.Rclone} {
		for _, del := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s delete=%v", tool, del), func(t *testing.T) {
				needTool(t, tool.String())
				n := seeds
				if tool == copytool.Rclone && os.Getenv("DROVE_LONG_TESTS") == "" {
					n = 1
				}
				for i := range n {
					seed := base + uint64(i)
					ok := t.Run(fmt.Sprint(seed), func(t *testing.T) { syncProperty(t, seed, tool, del) })
					if !ok {
						t.Fatalf("seed %d fails (tool %s, delete %v)", seed, tool, del)
					}
				}
			})
		}
	}
}

func syncProperty(t *testing.T, seed uint64, tool copytool.Tool, del bool) {
	r := rand.New(rand.NewPCG(seed, 11))
	dir := t.TempDir()
	t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	require.NoError(t, os.Mkdir(src, 0o755))
	rclone := tool == copytool.Rclone
	dirs := randomTree(t, r, src, !rclone)
	// DST: a copy of some of SRC's directories, with extra entries in
	// them and in directories of its own.
	require.NoError(t, os.Mkdir(dst, 0o755))
	want := snapshot(t, src)
	mt := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	extras := map[string]snapEntry{}
	for range r.IntN(10) {
		parent := ""
		if r.IntN(3) > 0 {
			parent = dirs[r.IntN(len(dirs))]
		} else {
			parent = "only-in-dst" + strconv.Itoa(r.IntN(3))
		}
		n := []string{".env.sample", ".npmrc.backup", ".bashrc.old123", ".x.AbC123", "-extra", "new\nextra", ".f.Xy12_z"}[r.IntN(7)]
		rel := filepath.Join(parent, n)
		if _, clash := want[rel]; clash {
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Join(dst, parent), 0o755))
		p := filepath.Join(dst, rel)
		require.NoError(t, os.WriteFile(p, []byte("extra "+rel), 0o640))
		require.NoError(t, os.Chtimes(p, mt, mt))
		extras[rel] = snapEntry{}
	}
	for rel := range extras {
		extras[rel] = snapshot(t, dst)[rel]
	}

	maxFiles := 1 + r.IntN(10)
	if rclone {
		maxFiles += 15 // each rclone takes a while to start
	}
	res, err := Run(context.Background(), Options{
		Src: src, Dst: dst, Work: filepath.Join(dir, "work"), Tool: tool,
		MaxFiles: maxFiles, FinalPass: true, Delete: del, Nodes: localNodes(1 + r.IntN(3)),
		OnFailure: runner.Evict,
	})
	require.NoError(t, err)
	require.True(t, res.OK(), "failed %+v, crawl %v, final %v", res.Failed, res.CrawlErr, res.FinalErr)

	got := snapshot(t, dst)
	for rel, w := range want {
		g, ok := got[rel]
		require.True(t, ok, "%q missing in DST", rel)
		require.Equal(t, w.typ, g.typ, "type of %q", rel)
		if w.typ.IsRegular() {
			require.True(t, w.data == g.data, "content of %q", rel)
			require.Equal(t, w.mtime, g.mtime, "mtime of %q", rel)
		}
		if !rclone {
			require.Equal(t, w, g, "%q", rel)
		}
	}
	for rel, g := range got {
		if _, ok := want[rel]; ok {
			continue
		}
		require.False(t, del, "%q left in DST with delete", rel)
		if e, ok := extras[rel]; ok {
			require.Equal(t, e, g, "extra %q changed", rel)
			continue
		}
		require.True(t, g.typ.IsDir() && bytes.HasPrefix([]byte(rel), []byte("only-in-dst")), "%q in DST is neither in SRC nor an extra", rel)
	}
	if !del {
		for rel := range extras {
			_, ok := got[rel]
			require.True(t, ok, "extra %q was removed", rel)
		}
	}
	require.NoFileExists(t, filepath.Join(dir, "pwned"))
}
