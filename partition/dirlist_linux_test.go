//go:build linux

package partition

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListDirFailure: a directory the batched crawler cannot open is
// reported (as the per-entry walker would) and skipped; Src itself failing
// is an error. Root reads everything, so a file stands in for the
// unreadable directory.
func TestListDirFailure(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "notadir")
	out := make(chan []entry, 4)
	done := make(chan struct{})
	c := newCrawler(context.Background(), root, &Options{}, out, done, func() error { return nil })
	require.True(t, c.batched)

	// A leaf directory is listed, then skipped so the walker does not read
	// it again; one with subdirectories is left to the walker.
	mkFiles(t, root, "leaf/a", "parent/child/b")
	require.ErrorIs(t, c.listDir(filepath.Join(root, "leaf"), "leaf"), filepath.SkipDir)
	assert.Equal(t, "leaf/a", (<-out)[0].rel)
	require.NoError(t, c.listDir(filepath.Join(root, "parent"), "parent"))
	assert.Empty(t, out)

	err := c.listDir(filepath.Join(root, "notadir"), "notadir")
	require.ErrorIs(t, err, filepath.SkipDir)
	batch := <-out
	require.Len(t, batch, 1)
	assert.Equal(t, "notadir", batch[0].rel)
	assert.ErrorIs(t, batch[0].err, syscall.ENOTDIR)

	// Vanished directories are not failures.
	require.ErrorIs(t, c.listDir(filepath.Join(root, "gone"), "gone"), filepath.SkipDir)
	assert.Empty(t, out)

	err = c.listDir(filepath.Join(root, "notadir"), "")
	var perr *fs.PathError
	require.ErrorAs(t, err, &perr)
}

// TestListDirUnknownType: entries are typed by fstatat when the file
// system reports DT_UNKNOWN.
func TestListDirUnknownType(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "f", "d/g")
	require.NoError(t, os.Symlink("f", filepath.Join(root, "l")))
	fd, err := openDir(root)
	require.NoError(t, err)
	defer syscall.Close(fd)
	c := newCrawler(context.Background(), root, &Options{}, nil, nil, nil)
	for name, want := range map[string]int64{"f": 1, "l": 1} {
		e, ok, isDir := c.fileEntry(fd, "", name, 0) // 0: DT_UNKNOWN
		require.True(t, ok, name)
		assert.False(t, isDir, name)
		assert.Equal(t, want, e.size, name)
	}
	_, ok, isDir := c.fileEntry(fd, "", "d", 0)
	assert.False(t, ok, "directories are left to the walker")
	assert.True(t, isDir)
}
