//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// TestSyncMaxDelete (issue 19.5): --delete --max-delete N deletes at most
// N entries of DST in the whole run, though many copies run: partitions
// replace nothing (a directory of DST where SRC has a file would have
// its contents deleted by a partition's rsync --force, outside any
// final-pass limit), the final pass alone deletes, with the limit, and is
// not retried (each attempt would delete up to N again). Past N: the rest
// is copied, DST's other extras stay, a line says so, exit 25. A limit
// that is not reached changes nothing.
func TestSyncMaxDelete(t *testing.T) {
	for _, mode := range []string{"rsync", "rclone"} {
		t.Run(mode, func(t *testing.T) {
			testkit.Slow(t) // several syncs: 10 s and more
			if _, err := exec.LookPath(mode); err != nil {
				t.Skip(mode + " is not installed")
			}
			dir := t.TempDir()
			t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			for i := range 12 {
				p := filepath.Join(src, "d"+string(rune('a'+i%3)), "f"+string(rune('a'+i)))
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(p), 0o644))
			}
			extras := []string{"x1", "x2", "x3", "da/x4", "db/x5"}
			if mode == "rsync" {
				// rclone cannot replace a directory by a file at all.
				require.NoError(t, os.WriteFile(filepath.Join(src, "t"), []byte("a file in SRC"), 0o644))
				extras = append(extras, "t/a", "t/b", "t/c", "t/d")
			}
			for _, p := range extras {
				require.NoError(t, os.MkdirAll(filepath.Join(dst, filepath.Dir(p)), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dst, p), []byte("extra"), 0o644))
			}
			left := func() int {
				n := 0
				for _, p := range extras {
					if _, err := os.Lstat(filepath.Join(dst, p)); err == nil {
						n++
					}
				}
				return n
			}

			args := []string{"sync", "--mode", mode, "-n", "3/:", "-f", "2", "--delete", "--max-delete", "3"}
			r := drove(t, nil, nil, append(args, "-d", filepath.Join(dir, "w1"), src, dst)...)
			require.Equal(t, exitDeleteLimit, r.code, r.stderr)
			require.Contains(t, r.stderr, "drove: sync: --max-delete 3 reached")
			deleted := len(extras) - left()
			require.LessOrEqual(t, deleted, 3, "deleted %d of DST's entries:\n%s", deleted, r.stderr)
			require.Positive(t, deleted)
			for i := range 12 {
				p := filepath.Join("d"+string(rune('a'+i%3)), "f"+string(rune('a'+i)))
				b, err := os.ReadFile(filepath.Join(dst, p))
				require.NoError(t, err, "the rest is copied")
				require.Equal(t, filepath.Join(src, p), string(b))
			}

			// Bad input, refused before anything runs.
			for _, bad := range [][]string{{"--max-delete", "3"}, {"--delete", "--max-delete", "-2"}, {"--delete", "--max-delete", "3", "--no-final-pass"}} {
				r := drove(t, nil, nil, append(append([]string{"sync", "-n", ":", "-d", filepath.Join(dir, "w3")}, bad...), src, dst)...)
				require.Equal(t, exitUsage, r.code, "%v: %s", bad, r.stderr)
				require.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
			}
			require.NoDirExists(t, filepath.Join(dir, "w3"))

			// A limit that holds is no limit.
			r = drove(t, nil, nil, append(args[:len(args)-1], "100", "-d", filepath.Join(dir, "w2"), src, dst)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			require.Zero(t, left())
			if mode == "rsync" {
				b, err := os.ReadFile(filepath.Join(dst, "t"))
				require.NoError(t, err)
				require.Equal(t, "a file in SRC", string(b))
			}
		})
	}
}
