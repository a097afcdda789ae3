package partition

import (
	"bytes"
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileNames are file names that copy tools and shells trip on.
var hostileNames = []string{
	"$(touch pwned)", "`touch pwned`", "-rf", "--", "-", "a'b", `a"b`, "with space", "tab\there", "new\nline",
	"cr\rname", " lead", "trail ", "#hash", ";semi", `back\slash`, "*star", "?q", "[x]", "ünïcödé", ".hidden",
	"...", "\xff\xfe bad utf8",
}

// hostileTree builds a source tree of hostile names: files at the top and
// in hostile directories, symlinks (to files, to a directory, dangling),
// empty directories, a bigger random file, and varied permissions.
func hostileTree(t *testing.T, root string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	write := func(rel string, size int, perm os.FileMode) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		require.NoError(t, os.WriteFile(p, b, perm))
		require.NoError(t, os.Chmod(p, perm))
		mt := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(rng.IntN(1e6)) * time.Second)
		require.NoError(t, os.Chtimes(p, mt, mt))
	}
	for i, n := range hostileNames {
		write(n, 10+i*37, 0o644)
	}
	for _, d := range []string{"dir $(touch pwned)", "-rf dir", "nl\ndir", "a'b dir"} {
		for i, n := range hostileNames[:6] {
			write(filepath.Join(d, n), 100+i, 0o600)
		}
	}
	write("big/blob", 300<<10, 0o755)
	write("zero", 0, 0o644)
	for link, target := range map[string]string{
		"link to file":    "a'b",
		"dangling":        "/nonexistent/$(touch pwned)",
		"dirlink":         "dir $(touch pwned)",
		"$(touch pwned)L": "-rf",
	} {
		require.NoError(t, os.Symlink(target, filepath.Join(root, link)))
	}
	for _, d := range []string{"empty", "empty $(touch pwned)", "deep/er/empty", "-rf dir/empty\nnl"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
}

// runLines runs each job line with sh in cwd and fails on any error.
func runLines(t *testing.T, cwd string, lines []string, env ...string) {
	t.Helper()
	for _, line := range lines {
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = cwd
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "job %s:\n%s", line, out)
	}
}

// sameTree compares dst with src entry by entry: types, bytes, permissions
// and mtimes of regular files, symlink targets, directories. keep selects
// the source entries expected in dst; dst must hold nothing else.
func sameTree(t *testing.T, src, dst string, keep func(rel string, mode fs.FileMode) bool) int {
	t.Helper()
	want := map[string]bool{}
	n := 0
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(src, p)
		si, err := os.Lstat(p)
		require.NoError(t, err)
		if rel == "." || !keep(rel, si.Mode()) {
			return nil
		}
		want[rel] = true
		di, err := os.Lstat(filepath.Join(dst, rel))
		if !assert.NoError(t, err, "%q missing from the copy", rel) {
			return nil
		}
		assert.Equal(t, si.Mode().Type(), di.Mode().Type(), "%q type", rel)
		switch {
		case si.Mode().IsRegular():
			n++
			a, err := os.ReadFile(p)
			require.NoError(t, err)
			b, err := os.ReadFile(filepath.Join(dst, rel))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(a, b), "%q content differs", rel)
			assert.True(t, si.ModTime().Equal(di.ModTime()), "%q mtime", rel)
		case si.Mode()&fs.ModeSymlink != 0:
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(filepath.Join(dst, rel))
			assert.Equal(t, a, b, "%q symlink target", rel)
		}
		return nil
	}))
	require.NoError(t, filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dst, p)
		if rel != "." && !d.IsDir() {
			assert.True(t, want[rel], "%q in the copy but not expected", rel)
		}
		return nil
	}))
	return n
}

// noPwned fails if any job line executed a name.
func noPwned(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		_, err := os.Lstat(filepath.Join(d, "pwned"))
		assert.ErrorIs(t, err, fs.ErrNotExist, "something executed a name in %s", d)
	}
}

// partitionJobs runs Run with opts and formats a job line per partition.
func partitionJobs(t *testing.T, opts Options, job Job) ([]string, Summary, []Skip) {
	t.Helper()
	var lines []string
	var skips []Skip
	opts.OnSkip = func(s Skip) { skips = append(skips, s) }
	sum, err := Run(context.Background(), opts, func(p Partition) error {
		line, err := job.Format(p)
		lines = append(lines, line)
		return err
	}, nil)
	require.NoError(t, err)
	return lines, sum, skips
}

// TestEndToEndRsync copies a hostile tree with the emitted rsync lines and
// compares the copy with the source, byte for byte.
func TestEndToEndRsync(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("rsync not installed (.ci/run installs it)")
	}
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"live files", Options{MaxFiles: 4, EmptyDirs: true}},
		{"live size", Options{MaxBytes: 1000, EmptyDirs: true, Walkers: 8}},
		{"parts", Options{Parts: 3, EmptyDirs: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join(tmp, "src $(touch pwned) 'q' \"d\"")
			dst := filepath.Join(tmp, "-dst $(touch pwned)")
			cwd := filepath.Join(tmp, "cwd")
			require.NoError(t, os.Mkdir(cwd, 0o755))
			hostileTree(t, src)
			opts := tc.opts
			job := Job{Mode: ModeRsync, Src: src, Dst: dst}
			opts.Src, opts.OutDir, opts.Format = src, filepath.Join(tmp, "parts $(touch pwned)"), job.ListFormat()
			lines, sum, skips := partitionJobs(t, opts, job)
			require.Empty(t, skips)
			require.True(t, sum.Complete())
			require.Greater(t, len(lines), 1)
			runLines(t, cwd, lines)
			n := sameTree(t, src, dst, func(string, fs.FileMode) bool { return true })
			assert.Equal(t, len(hostileNames)+4*6+2, n, "regular files compared")
			noPwned(t, tmp, cwd, src, dst)
		})
	}
}

// TestEndToEndRclone does the same with rclone over local paths. rclone
// copies regular files only (symlinks are skipped with a NOTICE unless
// --links; empty directories are not recreated), so only regular files are
// compared; every one of them must arrive, newline names included.
func TestEndToEndRclone(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Skip("rclone not installed (.ci/run installs it)")
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src $(touch pwned) 'q' \"d\"")
	dst := filepath.Join(tmp, "-dst $(touch pwned)")
	cwd := filepath.Join(tmp, "cwd")
	require.NoError(t, os.Mkdir(cwd, 0o755))
	hostileTree(t, src)
	// Names that collide with rclone's own encoding of control characters.
	extra := []string{"sym\u2409bol", "quote\u201Bx", "\u201B\u201B", "del\x7f", "full\uFF0Fslash", "\uFF0E", "\u2400nul", "\x01\x1f"}
	for _, n := range extra {
		require.NoError(t, os.WriteFile(filepath.Join(src, n), []byte(n), 0o644))
	}
	conf := filepath.Join(tmp, "rclone.conf")
	require.NoError(t, os.WriteFile(conf, nil, 0o600))

	job := Job{Mode: ModeRclone, Src: src, Dst: dst}
	opts := Options{Src: src, OutDir: filepath.Join(tmp, "parts"), MaxFiles: 5, Format: job.ListFormat()}
	lines, sum, skips := partitionJobs(t, opts, job)
	var skipped []string
	for _, s := range skips {
		require.ErrorIs(t, s.Err, ErrUnrepresentable)
		skipped = append(skipped, s.Path)
	}
	// rclone cannot open local names holding its quote rune: reported, not lost.
	assert.ElementsMatch(t, []string{"quote\u201Bx", "\u201B\u201B"}, skipped)
	assert.False(t, sum.Complete())
	runLines(t, cwd, lines, "RCLONE_CONFIG="+conf)

	n := sameTree(t, src, dst, func(rel string, mode fs.FileMode) bool {
		return mode.IsRegular() && !strings.ContainsRune(rel, '\u201B')
	})
	assert.Equal(t, len(hostileNames)+len(extra)-2+4*6+2, n, "regular files compared")
	noPwned(t, tmp, cwd, src, dst)
}
