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

// TestDirFailure: an unreadable directory below Src is reported (with
// what was listed of it) and the walk goes on; Src itself failing is an
// error. Root reads everything, so a file stands in for the unreadable
// directory.
func TestDirFailure(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "notadir")
	out := make(chan []entry, 4)
	done := make(chan struct{})
	c := newCrawler(context.Background(), root, &Options{}, out, done, func() error { return nil })
	require.True(t, c.batched)

	require.NoError(t, c.dirFailed(filepath.Join(root, "sub"), "sub", "open", syscall.EACCES, nil))
	batch := <-out
	require.Len(t, batch, 1)
	assert.Equal(t, "sub", batch[0].rel)
	assert.ErrorIs(t, batch[0].err, syscall.EACCES)

	c = newCrawler(context.Background(), filepath.Join(root, "notadir"), &Options{}, out, done, func() error { return nil })
	err := c.fdWalk(2)
	var perr *fs.PathError
	require.ErrorAs(t, err, &perr)
	assert.ErrorIs(t, err, syscall.ENOTDIR)
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
