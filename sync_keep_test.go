//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// TestSyncKeepsWhatSrcHoldsAsAnotherType (issue 19.4): without --delete,
// nothing in DST is removed. rsync -a (3.5.0) replaced, without --delete, a
// file or symlink of DST where SRC has a directory (also above a listed
// file), and a symlink or an empty directory where SRC has a file; rclone
// wrote a file of SRC through a symlink of DST to the link's target
// outside DST, then replaced the link. Such entries are kept, each reported
// on one line, exit 1; the rest of the tree is copied. The empty directory
// of SRC is not in any partition (no -z): only the final pass meets it.
func TestSyncKeepsWhatSrcHoldsAsAnotherType(t *testing.T) {
	for _, mode := range []string{"rsync", "rclone"} {
		t.Run(mode, func(t *testing.T) {
			testkit.Slow(t) // 10 to 20 s each (keep.sh's own test is quick)
			if _, err := exec.LookPath(mode); err != nil {
				t.Skip(mode + " is not installed")
			}
			dir := t.TempDir()
			src, dst, out := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "outside")
			t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
			files := map[string]string{"x/f": "xf", "z": "z", "e": "e", "a/b/f": "abf", "a/b/g": "abg", "d2/q/f": "d2",
				"ne": "ne", "ok": "new", "w/f": "wf", "s*[x]": "star"}
			if mode == "rsync" {
				files["new\nline/f"] = "nl"
			}
			for p, c := range files {
				require.NoError(t, os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(src, p), []byte(c), 0o644))
			}
			require.NoError(t, os.MkdirAll(filepath.Join(src, "emptydir"), 0o755))
			require.NoError(t, os.MkdirAll(out, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(out, "target"), []byte("outside, not to be written"), 0o644))

			require.NoError(t, os.MkdirAll(filepath.Join(dst, "e"), 0o755))
			require.NoError(t, os.MkdirAll(filepath.Join(dst, "ne", "sub"), 0o755))
			require.NoError(t, os.MkdirAll(filepath.Join(dst, "w"), 0o755))
			require.NoError(t, os.MkdirAll(filepath.Join(dst, "s*[x]"), 0o755))
			dstFiles := map[string]string{"x": "dst x", "a": "dst a", "ok": "old", "ne/sub/mine": "mine", "emptydir": "dst emptydir"}
			if mode == "rsync" {
				dstFiles["new\nline"] = "dst nl"
			}
			for p, c := range dstFiles {
				require.NoError(t, os.WriteFile(filepath.Join(dst, p), []byte(c), 0o644))
			}
			// The same mtime would let rsync's quick check skip the update.
			past := time.Now().Add(-time.Hour)
			require.NoError(t, os.Chtimes(filepath.Join(dst, "ok"), past, past))
			require.NoError(t, os.Symlink("../outside/target", filepath.Join(dst, "z")))
			require.NoError(t, os.Symlink(out, filepath.Join(dst, "d2")))

			r := drove(t, nil, nil, "sync", "--mode", mode, "-n", "2/:", "-f", "4", "-d", filepath.Join(dir, "w"), src, dst)
			require.Equal(t, exitFailed, r.code, r.stderr)
			kept := map[string][2]string{
				"x": {"file", "directory"}, "a": {"file", "directory"}, "e": {"directory", "file"},
				"z": {"symlink", "file"}, "d2": {"symlink", "directory"}, "ne": {"directory", "file"},
				"emptydir": {"file", "directory"}, "s*[x]": {"directory", "file"}, "new\nline": {"file", "directory"},
			}
			if mode == "rclone" {
				// A name rclone's list encodes is not checked (docs/sync.md).
				delete(kept, "new\nline")
			}
			for p, k := range kept {
				line := "drove: sync: kept: " + showPath(filepath.Join(dst, p)) + " is a " + k[0] + ", " + showPath(filepath.Join(src, p)) + " is a " + k[1] + "\n"
				require.Equal(t, 1, strings.Count(r.stderr, line), "%q in:\n%s", line, r.stderr)
			}
			require.Equal(t, len(kept), strings.Count(r.stderr, "drove: sync: kept: "), r.stderr)
			require.Contains(t, r.stderr, fmt.Sprintf("sync: kept %d entries of DST that SRC holds as another type", len(kept)))

			// DST's entries are as they were.
			for p, c := range dstFiles {
				b, err := os.ReadFile(filepath.Join(dst, p))
				if p == "ok" {
					c = "new" // an update, not a removal
				}
				require.NoError(t, err, p)
				require.Equal(t, c, string(b), p)
			}
			for _, p := range []string{"e", "w", "s*[x]"} {
				fi, err := os.Lstat(filepath.Join(dst, p))
				require.NoError(t, err)
				require.True(t, fi.IsDir(), p)
			}
			for p, want := range map[string]string{"z": "../outside/target", "d2": out} {
				l, err := os.Readlink(filepath.Join(dst, p))
				require.NoError(t, err, p)
				require.Equal(t, want, l)
			}
			b, err := os.ReadFile(filepath.Join(out, "target"))
			require.NoError(t, err)
			require.Equal(t, "outside, not to be written", string(b))
			entries, err := os.ReadDir(out)
			require.NoError(t, err)
			require.Len(t, entries, 1, "nothing was written outside DST")
			// The rest was copied.
			b, err = os.ReadFile(filepath.Join(dst, "w", "f"))
			require.NoError(t, err)
			require.Equal(t, "wf", string(b))
		})
	}
}
