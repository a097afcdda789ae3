package syncer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRefusedRunLeavesNoWork: a sync refused after drove made its work
// directory (here --delete of an empty SRC) removes it and the
// directories it made above it; in a work directory that was there, it
// leaves no journal.
func TestRefusedRunLeavesNoWork(t *testing.T) {
	dir := t.TempDir()
	o := defaultOpts(t, dir)
	require.NoError(t, os.Remove(filepath.Join(o.Src, "f")))
	o.Delete = true
	o.Work = filepath.Join(dir, "new", "work")
	_, err := Run(context.Background(), o)
	var dr *DeleteRefusedError
	require.ErrorAs(t, err, &dr)
	require.NoDirExists(t, filepath.Join(dir, "new"))

	o.Work = filepath.Join(dir, "given")
	require.NoError(t, os.Mkdir(o.Work, 0o755))
	_, err = Run(context.Background(), o)
	require.ErrorAs(t, err, &dr)
	entries, err := os.ReadDir(o.Work)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestUndoRemovesOnlyWhatItMade: what another run put in a directory this
// run made keeps it, and the directories above it.
func TestUndoRemovesOnlyWhatItMade(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "a", "b", "work")
	made := &madeWork{dirs: missingDirs(work)}
	require.Equal(t, []string{work, filepath.Dir(work), filepath.Join(dir, "a")}, made.dirs)
	require.NoError(t, os.MkdirAll(work, 0o755))
	other := filepath.Join(dir, "a", "b", "other")
	require.NoError(t, os.WriteFile(other, []byte("x"), 0o644))
	made.undo()
	require.NoDirExists(t, work)
	require.FileExists(t, other)
}
