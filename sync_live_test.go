//go:build slow && linux

package main

// drove sync of a tree that changes while it is copied: a mutator keeps
// creating, deleting, renaming, truncating, growing and swapping files,
// directories and symlinks in SRC — among them directories swapped for
// symlinks to a directory outside SRC that has the same names as the
// swapped one (and more), its files and symlink targets marked — while
// drove sync runs, with the real rsync and rclone. Every sync exits 0 or
// says what failed; no list and no entry of DST ever holds anything from
// outside SRC (as root, not even a symlink's target: see docs/sync.md, "Live
// trees", for what another user's rsync still lets through), and nothing
// outside changes; once the mutator stops, one more run makes DST equal
// SRC (--verify=checksum).

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// outsideMarker is in every file outside SRC and in none inside.
const outsideMarker = "OUTSIDE-SRC-MARKER"

// mutator changes SRC until stopped.
type mutator struct {
	src, outside string
	dirs         []string // relative directories it plays with
	rng          *rand.Rand
	ops          atomic.Int64
	symlinks     bool // may leave symlinks (rsync); rclone does not copy them
	// swapped are the directories now swapped for a symlink to outside:
	// the mutator itself must not write through them.
	swapped map[string]bool
}

// through reports whether rel goes through a swapped directory (strictly
// above it).
func (m *mutator) through(rels ...string) bool {
	for _, rel := range rels {
		for d, on := range m.swapped {
			if on && strings.HasPrefix(rel, d+"/") {
				return true
			}
		}
	}
	return false
}

func newMutator(t *testing.T, src, outside string, seed uint64, symlinks bool) *mutator {
	t.Helper()
	m := &mutator{src: src, outside: outside, rng: rand.New(rand.NewPCG(seed, 7)), symlinks: symlinks, swapped: map[string]bool{}}
	for i := range 4 {
		m.dirs = append(m.dirs, fmt.Sprintf("d%d", i), fmt.Sprintf("d%d/s", i))
	}
	for _, d := range m.dirs {
		for _, root := range []string{src, outside} {
			require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
		}
		for f := range 6 {
			name := filepath.Join(d, fmt.Sprintf("f%d", f))
			require.NoError(t, os.WriteFile(filepath.Join(src, name), m.content(f*100), 0o644))
			// The same names as inside (what a copy tool that follows the
			// swapped directory would take), and names only outside.
			for _, out := range []string{name, filepath.Join(d, fmt.Sprintf("OUTSIDE-f%d", f))} {
				require.NoError(t, os.WriteFile(filepath.Join(outside, out), []byte(outsideMarker+" "+name), 0o644))
			}
		}
		require.NoError(t, os.Symlink("/"+outsideMarker, filepath.Join(outside, d, "lnk")))
		if symlinks {
			require.NoError(t, os.Symlink("inside", filepath.Join(src, d, "lnk")))
		}
	}
	return m
}

func (m *mutator) content(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + m.rng.IntN(26))
	}
	return b
}

func (m *mutator) path(rel string) string { return filepath.Join(m.src, rel) }

func (m *mutator) randFile() string {
	return filepath.Join(m.dirs[m.rng.IntN(len(m.dirs))], fmt.Sprintf("f%d", m.rng.IntN(8)))
}

// step makes one random change; errors (a path that another change
// removed) are part of the game.
func (m *mutator) step() {
	m.ops.Add(1)
	f, g := m.randFile(), m.randFile()
	d, e := m.dirs[m.rng.IntN(len(m.dirs))], m.dirs[m.rng.IntN(len(m.dirs))]
	if m.through(f, g, d, e, d+"/x/y", e+"/x") {
		return
	}
	switch m.rng.IntN(11) {
	case 0, 1: // create or overwrite
		_ = os.WriteFile(m.path(f), m.content(m.rng.IntN(64<<10)), 0o644)
	case 2: // delete
		_ = os.Remove(m.path(f))
	case 3: // rename a file
		_ = os.Rename(m.path(f), m.path(g))
	case 4: // truncate
		_ = os.Truncate(m.path(f), int64(m.rng.IntN(50)))
	case 5: // grow
		if fh, err := os.OpenFile(m.path(f), os.O_WRONLY|os.O_APPEND, 0); err == nil {
			_, _ = fh.Write(m.content(m.rng.IntN(32 << 10)))
			fh.Close()
		}
	case 6, 7: // swap a directory with a symlink to its mirror outside SRC
		lnk := m.path(d) + ".lnk"
		if _, err := os.Lstat(lnk); err != nil {
			_ = os.Symlink(filepath.Join(m.outside, d), lnk)
		}
		if unix.Renameat2(unix.AT_FDCWD, m.path(d), unix.AT_FDCWD, lnk, unix.RENAME_EXCHANGE) == nil {
			m.swapped[d] = !m.swapped[d]
		}
	case 8: // a directory becomes a file, or back
		d := d + "/x"
		if fi, err := os.Lstat(m.path(d)); err == nil && fi.IsDir() {
			_ = os.RemoveAll(m.path(d))
			_ = os.WriteFile(m.path(d), m.content(10), 0o644)
		} else {
			_ = os.Remove(m.path(d))
			_ = os.MkdirAll(m.path(d+"/y"), 0o755)
			_ = os.WriteFile(m.path(d+"/y/z"), m.content(100), 0o644)
		}
	case 9: // rename a directory
		_ = os.Rename(m.path(d+"/x"), m.path(e+"/x"))
	case 10: // a symlink, to outside or dangling
		if m.symlinks {
			_ = os.Remove(m.path(f))
			_ = os.Symlink([]string{m.outside, "nowhere", "../f1"}[m.rng.IntN(3)], m.path(f))
		}
	}
}

// settle undoes what the copy tool cannot copy or the final check would
// trip on: every directory swapped for a symlink is swapped back, and for
// rclone every symlink goes; without --delete, SRC takes DST's directories.
func (m *mutator) settle(t *testing.T, dst string, del bool) {
	t.Helper()
	// Parents first: a subdirectory is only ever swapped while its parent
	// is not.
	for _, d := range m.dirs {
		if m.swapped[d] {
			require.NoError(t, unix.Renameat2(unix.AT_FDCWD, m.path(d), unix.AT_FDCWD, m.path(d)+".lnk", unix.RENAME_EXCHANGE))
			m.swapped[d] = false
		}
	}
	// The swaps' symlinks go: DST may hold those names as directories.
	for _, d := range m.dirs {
		_ = os.Remove(m.path(d) + ".lnk")
	}
	if !del {
		// Without --delete nothing of DST is removed, so an entry whose
		// type changed (a directory that became a file, a symlink that
		// became a directory...) is kept and named (issue 19.4): move it
		// away, as drove's message says.
		require.NoError(t, filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == dst {
				return err
			}
			fi, err := os.Lstat(filepath.Join(m.src, strings.TrimPrefix(p, dst+"/")))
			if err != nil || fi.Mode().Type() == d.Type() {
				return nil
			}
			require.NoError(t, os.RemoveAll(p))
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}))
	}
	if m.symlinks {
		return
	}
	require.NoError(t, filepath.WalkDir(m.src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink != 0 {
			return os.Remove(p)
		}
		return err
	}))
}

// requireNothingFromOutside fails if any entry of dst has an outside name,
// any regular file holds the outside marker, or (as root) any symlink's
// target does (dst is walked without following symlinks), or if a list of
// work names an outside entry.
func requireNothingFromOutside(t *testing.T, dst, work string) {
	t.Helper()
	lists, err := filepath.Glob(filepath.Join(work, "lists", "*", "part.*"))
	require.NoError(t, err)
	for _, l := range lists {
		b, err := os.ReadFile(l)
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte("OUTSIDE")), "%s lists an entry from outside SRC", l)
	}
	m := testkit.Outside{Name: "OUTSIDE", Content: outsideMarker}
	if os.Geteuid() == 0 {
		m.Target = outsideMarker
	}
	from, err := testkit.FromOutside(dst, m)
	require.NoError(t, err)
	require.Empty(t, from, "entries of DST that came from outside SRC")
}

func TestSyncLiveTree(t *testing.T) {
	// CI: one run during the changes, big partitions (rclone starts
	// slowly). DROVE_LONG_TESTS=N: 10*N runs, small partitions.
	rounds, files := 1, "25"
	if n, _ := strconv.Atoi(os.Getenv("DROVE_LONG_TESTS")); n > 0 {
		rounds, files = 10*n, "5"
	}
	for _, tool := range []string{"rsync", "rclone"} {
		for _, del := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s delete=%v", tool, del), func(t *testing.T) {
				if _, err := exec.LookPath(tool); err != nil {
					t.Skip(tool + " is not installed")
				}
				seed := uint64(time.Now().UnixNano())
				t.Logf("seed %d", seed)
				dir := t.TempDir()
				t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
				src, dst, work, outside := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work"), filepath.Join(dir, "outside")
				m := newMutator(t, src, outside, seed, tool == "rsync")
				args := []string{"sync", "--mode", tool, "-n", "3/:", "-f", files, "-d", work}
				if del {
					args = append(args, "--delete")
				}
				args = append(args, src, dst)

				before := readTree(t, outside, true, true)
				var stop atomic.Bool
				var wg sync.WaitGroup
				t.Cleanup(func() { stop.Store(true); wg.Wait() })
				wg.Go(func() {
					for !stop.Load() {
						m.step()
						time.Sleep(time.Duration(m.rng.IntN(300)) * time.Microsecond)
					}
				})
				for range rounds {
					r := drove(t, nil, nil, args...)
					switch r.code {
					case exitOK:
					case exitFailed:
						// It says what: a failed partition, an entry it
						// could not list, the final pass.
						require.Regexp(t, `drove: sync: (failed: partition|could not list|kept: )|final pass FAILED|drove: sync: final pass`, r.stderr)
						t.Logf("a run during the changes failed, as it said:\n%s", r.stderr)
					default:
						t.Fatalf("exit %d during the changes:\n%s", r.code, r.stderr)
					}
					requireNothingFromOutside(t, dst, work)
				}
				stop.Store(true)
				wg.Wait()
				t.Logf("%d changes", m.ops.Load())
				m.settle(t, dst, del)

				// --checksum: a file rewritten with the same size within
				// the file system's timestamp granularity after it was
				// copied has the same size and mtime (see docs/sync.md).
				r := drove(t, nil, nil, append(args[:len(args)-2:len(args)-2], "--tool-args=--checksum", "--verify=checksum", src, dst)...)
				require.Equal(t, exitOK, r.code, r.stderr)
				require.Contains(t, r.stderr, " 0 differences")
				if os.Geteuid() == 0 && exec.Command("unshare", "-m", "true").Run() == nil {
					require.NotContains(t, r.stderr, "unconfined", "root can confine rclone here")
				}
				requireNothingFromOutside(t, dst, work)
				if del {
					requireSameTree(t, src, dst, tool == "rsync", false)
				}
				require.Equal(t, before, readTree(t, outside, true, true), "nothing written outside DST")
			})
		}
	}
}

// TestSyncRcloneUnconfinedWarns: where rclone cannot be confined to SRC
// (unshare fails here, as where namespaces are not allowed), the sync
// still copies and says, once, on which nodes the copies ran without.
func TestSyncRcloneUnconfinedWarns(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Skip("rclone is not installed")
	}
	dir := t.TempDir()
	t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
	testkit.FailingUnshare(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeTree(t, src, treeOpts{dirs: 2, filesPerDir: 5, maxSize: 100, seed: 9})
	r := drove(t, nil, nil, "sync", "--mode", "rclone", "-n", "2/:", "-f", "3", "-d", filepath.Join(dir, "work"), src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, 1, strings.Count(r.stderr, "drove: sync: warning: rclone ran unconfined on local (no mount namespace there)"), r.stderr)
}
