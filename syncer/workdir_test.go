package syncer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

func defaultOpts(t *testing.T, dir string) Options {
	t.Helper()
	src := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(src, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("f"), 0o644))
	return Options{Src: src, Dst: filepath.Join(dir, "dst"), Tool: copytool.Rsync, MaxFiles: 10, FinalPass: true, Nodes: localNodes(1)}
}

// TestDefaultWorkIsPrivate: without a work directory, drove keeps its
// state under $XDG_STATE_HOME/drove/sync, mode 0700, and refuses one that
// another user could have planted: a symlink, writable by others, owned
// by someone else.
func TestDefaultWorkIsPrivate(t *testing.T) {
	needTool(t, "rsync")
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	t.Setenv("XDG_STATE_HOME", state)
	o := defaultOpts(t, dir)
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK())
	w, err := DefaultWork(o.Src, o.Dst, "rsync")
	require.NoError(t, err)
	require.Equal(t, w, res.Work)
	require.Equal(t, filepath.Join(state, "drove", "sync"), filepath.Dir(w))
	for _, p := range []string{w, filepath.Dir(w), filepath.Dir(filepath.Dir(w))} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), p)
	}

	// Planted: writable by others.
	require.NoError(t, os.Chmod(w, 0o777))
	_, err = Run(context.Background(), o)
	var ue *UnsafeWorkError
	require.ErrorAs(t, err, &ue)
	require.Contains(t, err.Error(), "others can write")

	// Planted: a symlink to a directory holding a forged journal that
	// says everything is done.
	require.NoError(t, os.RemoveAll(w))
	forged := filepath.Join(dir, "forged")
	require.NoError(t, os.MkdirAll(forged, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(forged, journalName),
		[]byte(`{"t":"sync","src":"`+o.Src+`","dst":"`+o.Dst+`","tool":"rsync"}`+"\n"+`{"t":"crawl","crawl":1}`+"\n"+`{"t":"crawled","crawl":1}`+"\n"+`{"t":"final"}`+"\n"), 0o600))
	require.NoError(t, os.Symlink(forged, w))
	_, err = Run(context.Background(), o)
	require.ErrorAs(t, err, &ue)
	require.Contains(t, err.Error(), "symbolic link")

	// Planted: owned by another user (needs root to make).
	if os.Geteuid() == 0 {
		require.NoError(t, os.Remove(w))
		require.NoError(t, os.Mkdir(w, 0o700))
		require.NoError(t, os.Chown(w, 65534, 65534))
		_, err = Run(context.Background(), o)
		require.ErrorAs(t, err, &ue)
		require.Contains(t, err.Error(), "owned by uid 65534")
	}
}

// TestJournalNeverFollowsASymlink: a journal that is a symbolic link (to
// a victim's file) is refused and its target untouched.
func TestJournalNeverFollowsASymlink(t *testing.T) {
	dir := t.TempDir()
	o := defaultOpts(t, dir)
	o.Work = filepath.Join(dir, "work")
	require.NoError(t, os.MkdirAll(o.Work, 0o755))
	victim := filepath.Join(dir, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("precious\nno newline at the end"), 0o644))
	require.NoError(t, os.Symlink(victim, filepath.Join(o.Work, journalName)))
	_, err := Run(context.Background(), o)
	require.Error(t, err)
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "precious\nno newline at the end", string(b))
}

// TestRemoteNodeNeedsAWorkDirectory: with any remote node (even beside a
// local one) and no work directory, Run refuses before touching anything.
func TestRemoteNodeNeedsAWorkDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	o := defaultOpts(t, dir)
	o.Nodes = append(o.Nodes, Node{Node: runner.Node{Name: "far", Slots: 1, Connect: func(context.Context) (runner.Host, error) {
		t.Fatal("no node may be contacted")
		return nil, nil
	}}})
	_, err := Run(context.Background(), o)
	var we *WorkRequiredError
	require.ErrorAs(t, err, &we)
	require.Equal(t, "far", we.Node)
	require.NoDirExists(t, filepath.Join(dir, "state"))
	require.NoDirExists(t, o.Dst)
}

// TestFinishedSyncStartsANewRun: a sync whose last run finished starts
// run 2 (a new crawl of the whole tree), one that had not is resumed.
func TestFinishedSyncStartsANewRun(t *testing.T) {
	needTool(t, "rsync")
	dir := t.TempDir()
	o := defaultOpts(t, dir)
	o.Work = filepath.Join(dir, "work")
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.Equal(t, 1, res.Run)
	require.False(t, res.NewRun || res.Resumed)

	require.NoError(t, os.WriteFile(filepath.Join(o.Src, "new"), []byte("new"), 0o644))
	res, err = Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK())
	require.True(t, res.NewRun)
	require.False(t, res.Resumed)
	require.Equal(t, 2, res.Run)
	require.Equal(t, int64(2), res.Files, "the whole tree, listed again")
	require.FileExists(t, filepath.Join(o.Dst, "new"))
	require.FileExists(t, filepath.Join(o.Work, "lists", "2", "part.000001"))

	// Run 2 unfinished (its final pass lost): the next run resumes it.
	b := readJournalText(t, o.Work)
	i := strings.LastIndex(b, `{"t":"final"`)
	require.NoError(t, os.WriteFile(filepath.Join(o.Work, journalName), []byte(b[:i]), 0o644))
	res, err = Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.Resumed)
	require.False(t, res.NewRun)
	require.Equal(t, 2, res.Run)
	require.True(t, res.FinalRan)
}

func readJournalText(t *testing.T, work string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(work, journalName))
	require.NoError(t, err)
	return string(b)
}
