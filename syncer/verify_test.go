package syncer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVerifyThroughSymlinkedSrc: SRC (or DST) given as a symbolic link to
// the tree is walked from the tree, so a corrupted file is found; before,
// the walk stopped at the link, compared 0 entries and passed (issue
// 19.6). A verify that sees fewer entries than the crawl listed is short.
func TestVerifyThroughSymlinkedSrc(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	rels := writeFiles(t, src, "")
	writeFiles(t, dst, "")
	for _, rel := range rels {
		fi, err := os.Stat(filepath.Join(src, rel))
		require.NoError(t, err)
		require.NoError(t, os.Chtimes(filepath.Join(dst, rel), fi.ModTime(), fi.ModTime()))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dst, rels[2]), []byte("corrupted, and longer than it was"), 0o644))
	require.NoError(t, os.Symlink(src, filepath.Join(dir, "src-link")))
	require.NoError(t, os.Symlink(dst, filepath.Join(dir, "dst-link")))

	for _, o := range []VerifyOptions{
		{Src: filepath.Join(dir, "src-link"), Dst: dst},
		{Src: src, Dst: filepath.Join(dir, "dst-link")},
	} {
		o.Listed = int64(len(rels))
		rep, err := Verify(context.Background(), o)
		require.NoError(t, err)
		require.Equal(t, int64(len(rels)+3), rep.Checked, "files and their 3 directories")
		require.Equal(t, 1, rep.Differences)
		require.Equal(t, rels[2], rep.List[0].Path)
		require.False(t, rep.Short())
	}

	rep, err := Verify(context.Background(), VerifyOptions{Src: src, Dst: dst, Listed: int64(len(rels)) + 4})
	require.NoError(t, err)
	require.True(t, rep.Short(), "%d compared, %d listed", rep.Checked, rep.Listed)
}
