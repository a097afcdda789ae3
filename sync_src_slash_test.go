//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSyncSrcWithOrWithoutTrailingSlash (issue 19.11): unlike rsync, where
// "src" copies the directory itself into DST and "src/" its contents,
// drove sync copies SRC's contents into DST either way, and both
// spellings are the same sync of the work directory.
func TestSyncSrcWithOrWithoutTrailingSlash(t *testing.T) {
	dir := t.TempDir()
	src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "a"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "a", "f"), []byte("f"), 0o644))
	r := drove(t, nil, nil, "sync", "-n", ":", "-d", work, src+"/", dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.FileExists(t, filepath.Join(dst, "a", "f"))
	require.NoDirExists(t, filepath.Join(dst, "src"))
	r = drove(t, nil, nil, "sync", "-n", ":", "-d", work, src, dst+"/")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "this was run 2 of", "the same sync")
	require.NoDirExists(t, filepath.Join(dst, "src"))
	entries, err := os.ReadDir(dst)
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

// TestSyncRefusesExcludesRsyncReadsOtherwise (issue 19.11): a -x pattern
// means the same to the crawl and to the final pass, or it is refused.
func TestSyncRefusesExcludesRsyncReadsOtherwise(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "src"), 0o755))
	for _, x := range []string{"a/**/b", "**.o", "f[!x]"} {
		r := drove(t, nil, nil, "sync", "-n", ":", "-d", filepath.Join(dir, "w"), "-x", x, filepath.Join(dir, "src"), filepath.Join(dir, "dst"))
		require.Equal(t, exitUsage, r.code, r.stderr)
		require.Contains(t, r.stderr, "mean one thing to rsync")
		require.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	}
	require.NoDirExists(t, filepath.Join(dir, "w"))
}
