//go:build unix

package syncer

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKeepScript: keep.sh finds every entry whose DST counterpart, or a
// directory above it, is of another type; a listed entry below such a
// directory is left out with it; the rest of the list is kept in order;
// the final pass's walk makes exclude patterns that name exactly the
// kept entries, wildcards escaped (checked by rsync itself).
func TestKeepScript(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	for _, p := range []string{"x/f", "z", "e", "a/b/f", "a/b/g", "ok", "w/f", "s*[x]", "new\nline/f", "d2/q/f", "ne"} {
		require.NoError(t, os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, p), []byte(p), 0o644))
	}
	for _, d := range []string{"e", "w", "s*[x]", "ne/sub"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dst, d), 0o755))
	}
	for _, f := range []string{"x", "a", "ok", "new\nline", "ne/sub/mine", "sx"} {
		require.NoError(t, os.WriteFile(filepath.Join(dst, f), []byte("dst"), 0o644))
	}
	require.NoError(t, os.Symlink("nowhere", filepath.Join(dst, "z")))
	require.NoError(t, os.Symlink(dir, filepath.Join(dst, "d2")))
	want := []Kept{{"x", "file", "directory"}, {"z", "symlink", "file"}, {"e", "directory", "file"},
		{"a", "file", "directory"}, {"s*[x]", "directory", "file"}, {"new\nline", "file", "directory"},
		{"d2", "symlink", "directory"}, {"ne", "directory", "file"}}

	list := filepath.Join(dir, "list")
	entries := []string{"x/f", "z", "e", "a/b/f", "a/b/g", "ok", "w/f", "s*[x]", "new\nline/f", "d2/q/f", "ne"}
	require.NoError(t, os.WriteFile(list, []byte(strings.Join(entries, "\x00")+"\x00"), 0o644))
	run := func(mode, in string) ([]Kept, []byte) {
		out := filepath.Join(dir, mode+".out")
		k := oneLine(keepSh)
		stdout, err := exec.Command("sh", "-c", k, "sh", k, mode, "N1", src, dst, in, out, "1").Output()
		require.NoError(t, err)
		p := newOutcomeParser("N1")
		_, _ = p.Write(stdout)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		return p.outcome.Kept, b
	}
	kept, out := run("rsync-list", list)
	require.Equal(t, want, kept)
	require.Equal(t, "ok\x00w/f\x00", string(out))

	kept, out = run("rsync-walk", "-")
	slices.SortFunc(kept, func(a, b Kept) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(want, func(a, b Kept) int { return strings.Compare(a.Path, b.Path) })
	require.Equal(t, want, kept)
	// rsync reads the patterns: a dry run over the whole tree names no
	// kept entry, nor anything below one, and still names the rest.
	excl := filepath.Join(dir, "excl")
	require.NoError(t, os.WriteFile(excl, out, 0o644))
	dry, err := exec.Command("rsync", "-a", "-n", "--out-format=%n", "--from0", "--exclude-from="+excl, src+"/", dst+"/").CombinedOutput()
	require.NoError(t, err, "%s", dry)
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(dry)), "\n") {
		names = append(names, strings.TrimSuffix(l, "/"))
	}
	require.Subset(t, names, []string{"ok", "w/f"}, "%s", dry)
	for _, n := range names {
		for _, k := range want {
			require.False(t, n == k.Path || strings.HasPrefix(n, k.Path+"/"), "rsync would copy %q", n)
		}
	}
	require.False(t, bytes.Contains(out, []byte("ok")))
}

// TestKeptOnceAndNeverExcluded: an entry kept by several attempts is
// reported once; one the excludes leave out (itself or a directory above
// it), which the final pass's walk meets but its rsync leaves alone, is
// not reported.
func TestKeptOnceAndNeverExcluded(t *testing.T) {
	m := &migration{o: Options{Excludes: []string{"*.tmp", "d/skip"}}}
	ks := []Kept{{"a", "file", "directory"}, {"x.tmp", "file", "directory"}, {"d/skip/y", "symlink", "file"},
		{"d/skipped", "symlink", "file"}, {"e/f.tmp/g", "file", "directory"}}
	m.kept(outcome{Kept: ks})
	m.kept(outcome{Kept: ks[:1]})
	require.Equal(t, []Kept{ks[0], ks[3]}, m.res.Kept)
}
