//go:build unix

package partition

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listed returns every entry of parts, sorted.
func listed(t *testing.T, parts []Partition, sep byte) []string {
	t.Helper()
	var all []string
	for _, p := range parts {
		all = append(all, readList(t, p.ListPath, sep)...)
	}
	slices.Sort(all)
	return all
}

func TestRunExcludes(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "keep.txt", "a.tmp", "sub/b.tmp", "sub/keep", "cache/x", "cache/y/z", "deep/cache/w",
		"deep/node_modules/q", "top/only/this", "other/top/only/this")
	opts := Options{Src: root, OutDir: t.TempDir(), MaxFiles: 2,
		Excludes: []string{"*.tmp", "node_modules", "/cache", "top/only"}}
	parts, sum, err := runAll(t, opts)
	require.NoError(t, err)
	assert.Equal(t, []string{"deep/cache/w", "keep.txt", "other/top/only/this", "sub/keep"}, listed(t, parts, 0))
	// a.tmp, sub/b.tmp, cache, deep/node_modules, top/only: a directory counts once.
	assert.Equal(t, int64(5), sum.Excluded)
	assert.True(t, sum.Complete())

	opts.Excludes = []string{"[bad"}
	_, _, err = runAll(t, opts)
	require.ErrorContains(t, err, `exclude pattern "[bad"`)
}

// TestRunNewlineNames: a newline-separated list cannot hold a name with a
// newline or carriage return; each is reported once (a directory once for
// its whole subtree), counted, and the rest is listed.
func TestRunNewlineNames(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "ok", "new\nline", "cr\r", "dir\nx/a", "dir\nx/b", "fine/c")
	var skips []Skip
	opts := Options{Src: root, OutDir: t.TempDir(), MaxFiles: 10, Format: ListLines, Sort: true,
		OnSkip: func(s Skip) { skips = append(skips, s) }}
	parts, sum, err := runAll(t, opts)
	require.NoError(t, err)
	assert.Equal(t, []string{"fine/c", "ok"}, listed(t, parts, '\n'))
	var paths []string
	for _, s := range skips {
		require.ErrorIs(t, s.Err, ErrUnrepresentable)
		paths = append(paths, s.Path)
	}
	slices.Sort(paths)
	assert.Equal(t, []string{"cr\r", "dir\nx", "new\nline"}, paths)
	assert.Equal(t, 3, sum.Skipped)
	assert.False(t, sum.Complete())

	// NUL-separated lists hold them all.
	opts.Format, opts.OutDir, opts.OnSkip = ListNUL, t.TempDir(), nil
	parts, sum, err = runAll(t, opts)
	require.NoError(t, err)
	assert.Equal(t, []string{"cr\r", "dir\nx/a", "dir\nx/b", "fine/c", "new\nline", "ok"}, listed(t, parts, 0))
	assert.True(t, sum.Complete())
}

// TestRunUnreadableDir injects the walker's "cannot read directory"
// callback (tests run as root, which reads everything): the directory is
// reported and counted, the rest of the tree is listed.
func TestRunUnreadableDir(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "a", "locked/b", "locked/c", "open/d")
	// A walker that cannot read "locked": the directory callback, then the
	// second callback with the read error, and nothing below it.
	lockedWalk := func(r string, fn fs.WalkDirFunc) error {
		return filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && d.Name() == "locked" {
				if err := fn(p, d, nil); err != nil {
					return err
				}
				if err := fn(p, d, &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES}); err != nil {
					return err
				}
				return filepath.SkipDir
			}
			return fn(p, d, err)
		})
	}
	var skips []Skip
	opts := Options{Src: root, OutDir: t.TempDir(), MaxFiles: 10, Walk: lockedWalk,
		OnSkip: func(s Skip) { skips = append(skips, s) }}
	parts, sum, err := runAll(t, opts)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "open/d"}, listed(t, parts, 0))
	require.Len(t, skips, 1)
	assert.Equal(t, "locked", skips[0].Path)
	assert.ErrorIs(t, skips[0].Err, fs.ErrPermission)
	assert.Equal(t, 1, sum.Skipped)
	assert.False(t, sum.Complete())
}

func TestRunSpecialsAndSymlinks(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "f", "d/g")
	require.NoError(t, syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	require.NoError(t, os.Symlink("d", filepath.Join(root, "dirlink")))
	require.NoError(t, os.Symlink("/nonexistent", filepath.Join(root, "dangling")))
	parts, sum, err := runAll(t, Options{Src: root, OutDir: t.TempDir(), MaxFiles: 100})
	require.NoError(t, err)
	// Symlinks are listed as links (never followed): dirlink/g is not there.
	assert.Equal(t, []string{"d/g", "dangling", "dirlink", "f"}, listed(t, parts, 0))
	assert.Equal(t, int64(1), sum.Special)
	assert.Equal(t, int64(1+len("/nonexistent")+len("d")+len("d/g")), sum.Bytes)

	// A source that is a symlink to a directory is crawled through.
	link := filepath.Join(t.TempDir(), "srclink")
	require.NoError(t, os.Symlink(root, link))
	parts, _, err = runAll(t, Options{Src: link, OutDir: t.TempDir(), MaxFiles: 100})
	require.NoError(t, err)
	assert.Equal(t, []string{"d/g", "dangling", "dirlink", "f"}, listed(t, parts, 0))
}

func TestRunErrors(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "a", "b", "c")
	for _, o := range []Options{
		{OutDir: "/x", MaxFiles: 1},
		{Src: root, MaxFiles: 1},
		{Src: root, OutDir: "/x"},
		{Src: root, OutDir: "/x", Parts: 2, MaxFiles: 1},
		{Src: root, OutDir: "/x", MaxFiles: -1},
		{Src: root, OutDir: "/x", MaxBytes: 10, NoSizes: true},
		{Src: root, OutDir: "/x", Parts: 2, NoSizes: true},
	} {
		_, _, err := runAll(t, o)
		require.Error(t, err, "%+v", o)
	}
	_, _, err := runAll(t, Options{Src: filepath.Join(root, "a"), OutDir: t.TempDir(), MaxFiles: 1})
	require.ErrorContains(t, err, "not a directory")
	_, _, err = runAll(t, Options{Src: filepath.Join(root, "nope"), OutDir: t.TempDir(), MaxFiles: 1})
	require.ErrorIs(t, err, fs.ErrNotExist)

	// Lists from an earlier run are never overwritten.
	out := t.TempDir()
	_, _, err = runAll(t, Options{Src: root, OutDir: out, MaxFiles: 1})
	require.NoError(t, err)
	_, _, err = runAll(t, Options{Src: root, OutDir: out, MaxFiles: 1})
	require.ErrorIs(t, err, fs.ErrExist)

	// An emit error stops the run and comes back.
	boom := errors.New("boom")
	n := 0
	_, err = Run(context.Background(), Options{Src: root, OutDir: t.TempDir(), MaxFiles: 1}, func(Partition) error {
		n++
		return boom
	}, nil)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, 1, n)
}
