package syncer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// TestStaleViewOfABusyDirectoryFails: a node that sees an older copy of
// SRC (an NFS client's cache, a lagging replica) cannot find a listed file
// whose directory is busy (a file is created in it after the listing, so
// the directory's ctime is new). The file itself is there and unchanged:
// the partition fails, naming it, and is not counted as vanished. It was
// counted as vanished, and the run exited 0 with the file missing from DST,
// when the directories' ctimes excused a missing path.
func TestStaleViewOfABusyDirectoryFails(t *testing.T) {
	needTool(t, "rsync")
	d := newStaleDirs(t, "a/1", "a/2", "b/1", "b/2") // d.other: what the stale node sees
	src, dst, work, other := d.src, d.dst, d.work, d.other
	// The files must be older than the listing by more than the clock
	// slack (only their age matters: no race).
	time.Sleep(2 * ctimeSlack)
	stale := true
	before := func(cmd string) string {
		if !stale || !strings.Contains(cmd, "part.000001") {
			return ""
		}
		first := firstListed(t, work, "\x00")
		// The node's view lacks the first file; SRC's directory of it
		// gets a new entry (its ctime moves), as a busy directory does.
		require.NoError(t, os.Remove(filepath.Join(other, first)))
		require.NoError(t, os.WriteFile(filepath.Join(src, filepath.Dir(first), "new"), []byte("new"), 0o644))
		return daemonServes(t, cmd, src, other)
	}
	o := Options{
		Src: src, Dst: dst, Work: work, Tool: copytool.Rsync,
		MaxFiles: 2, FinalPass: false, Nodes: hookNodes(1, before, func(string) {}), OnFailure: runner.Evict,
	}
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.False(t, res.OK(), "a file present and unchanged in SRC is missing from DST")
	require.Len(t, res.Failed, 1)
	require.Contains(t, res.Failed[0].Reason, "which is there on this machine")
	require.Zero(t, res.Vanished)

	stale = false
	res, err = Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res.Failed)
	for _, p := range []string{"a/1", "a/2", "b/1", "b/2"} {
		require.FileExists(t, filepath.Join(dst, p))
	}
}

// TestCheckExit23PathsDroveCannotMap: a path rsync reports missing that is
// not an entry of the partition's list (nor a directory above one), or is
// as long as PATH_MAX (rsync cuts such paths in its messages), is an error,
// never a vanished source.
func TestCheckExit23PathsDroveCannotMap(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "d"), 0o755))
	list := filepath.Join(dir, "list")
	require.NoError(t, os.WriteFile(list, []byte("d/gone\x00d/deep/x\x00"), 0o644))
	head := "== Mon Jan 1 00:00:00 UTC 2026 n1\n"
	done := "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]\n" + exit23Line + "\n"
	missing := func(p string) string {
		return `rsync: [sender] link_stat "` + p + `" (in root) failed: No such file or directory (2)` + "\n"
	}
	long := "/d/" + strings.Repeat("n", pathMax)
	for _, tc := range []struct {
		name, path string
		ok         bool
	}{
		{"listed and gone", "/d/gone", true},
		{"a directory above a listed entry, gone", "/d/deep", true},
		{"not listed", "/d/go", false},
		{"cut at PATH_MAX", long[:pathMax-2], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(dir, "log")
			require.NoError(t, os.WriteFile(log, []byte(head+missing(tc.path)+done), 0o644))
			err := checkExit23(log, src, time.Time{}, listedIn(list))
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, "cannot match to an entry it listed")
			}
		})
	}
}

// TestRcloneStaleViewFails: rclone copies a partition on a node whose view
// of SRC is an older copy lacking one listed file (a mount namespace with
// that copy over SRC). rclone ignores listed files it cannot find and
// exits 0; the file is here, unchanged since it was listed, so the
// partition fails, naming it. The run exited 0 with the file missing from
// DST before drove checked DST's listing of the partition.
func TestRcloneStaleViewFails(t *testing.T) {
	testkit.Slow(t) // three rclones: about 4 s
	needTool(t, "rclone")
	needStaleView(t)
	files := []string{"a/1", "a/2", "b/1"}
	d := newStaleDirs(t, files...) // d.other: what the stale node sees
	t.Setenv("RCLONE_CONFIG", filepath.Join(d.dir, "rclone.conf"))
	src, dst, work, other := d.src, d.dst, d.work, d.other
	time.Sleep(2 * ctimeSlack) // the files are older than the listing
	var missing string
	stale := true
	before := func(cmd string) string {
		if !stale || !strings.Contains(cmd, "part.000001") {
			return ""
		}
		missing = firstListed(t, work, "\n")
		require.NoError(t, os.Remove(filepath.Join(other, missing)))
		return staleShell(other, src, cmd)
	}
	o := Options{
		Src: src, Dst: dst, Work: work, Tool: copytool.Rclone,
		MaxFiles: 2, FinalPass: false, Nodes: hookNodes(1, before, func(string) {}), OnFailure: runner.Evict,
	}
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.NoFileExists(t, filepath.Join(dst, missing), "the stale node was not stale")
	require.False(t, res.OK(), "a file present and unchanged in SRC is missing from DST")
	require.Len(t, res.Failed, 1)
	require.Contains(t, res.Failed[0].Reason, "rclone did not copy")
	require.Contains(t, res.Failed[0].Reason, missing)
	require.Zero(t, res.Vanished)

	stale = false
	res, err = Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res.Failed)
	for _, p := range files {
		require.FileExists(t, filepath.Join(dst, p))
	}
}

// TestFinalPassOnAStaleNodeDeletesNothing: the final pass with Delete runs
// on a node whose view of SRC is an older copy lacking a file that the
// partitions copied (present and unchanged in SRC). It must not delete
// DST's good copy and exit 0: the node does not see the view marker drove
// writes into SRC before the pass, so it runs nothing and the run fails,
// saying why. rsync --delete and rclone sync deleted the copy, exit 0,
// before the marker. A node that sees SRC as drove does then finishes.
func TestFinalPassOnAStaleNodeDeletesNothing(t *testing.T) {
	needStaleView(t)
	for _, tool := range []copytool.Tool{copytool.Rsync, copytool.Rclone} {
		t.Run(tool.String(), func(t *testing.T) {
			needTool(t, tool.String())
			if tool == copytool.Rclone {
				testkit.Slow(t)
			}
			files := []string{"a/1", "a/2", "b/1"}
			d := newStaleDirs(t, files...) // d.other: what the stale node sees
			t.Setenv("RCLONE_CONFIG", filepath.Join(d.dir, "rclone.conf"))
			src, dst, work, other := d.src, d.dst, d.work, d.other
			require.NoError(t, os.Remove(filepath.Join(other, "a/2")))
			srcTime, err := os.Stat(src)
			require.NoError(t, err)
			stale := true
			before := func(cmd string) string {
				if stale && strings.Contains(cmd, "final.log") {
					return staleShell(other, src, cmd)
				}
				return ""
			}
			o := Options{
				Src: src, Dst: dst, Work: work, Tool: tool, MaxFiles: 10, FinalPass: true, Delete: true,
				Nodes: hookNodes(1, before, func(string) {}), OnFailure: runner.Evict, MaxAttempts: 1,
			}
			res, err := Run(context.Background(), o)
			require.NoError(t, err)
			require.FileExists(t, filepath.Join(dst, "a/2"), "the stale node's pass deleted a good copy")
			require.False(t, res.OK(), "the final pass did not run where SRC looks as it does here")
			require.ErrorContains(t, res.FinalErr, "view of SRC is stale")

			stale = false
			res, err = Run(context.Background(), o)
			require.NoError(t, err)
			require.True(t, res.OK(), "%+v %v", res.Failed, res.FinalErr)
			require.True(t, res.FinalRan)
			for _, p := range files {
				require.FileExists(t, filepath.Join(dst, p))
			}
			for _, root := range []string{src, dst} {
				m, err := filepath.Glob(filepath.Join(root, viewMarkerPrefix+"*"))
				require.NoError(t, err)
				require.Empty(t, m, "the view marker is left in %s", root)
			}
			now, err := os.Stat(src)
			require.NoError(t, err)
			require.Equal(t, srcTime.ModTime(), now.ModTime(), "SRC's mtime moved")
		})
	}
}

// TestFinalPassDeletesOnlyHereWhenSRCIsReadOnly: drove cannot write its
// view marker into a read-only SRC, so a final pass with Delete runs only
// on a local node; with none, the run fails saying why, and DST's extra
// file is kept.
func TestFinalPassDeletesOnlyHereWhenSRCIsReadOnly(t *testing.T) {
	testkit.Slow(t) // two syncs and a mount: about 3 s
	needTool(t, "rsync")
	needStaleView(t)
	dir := t.TempDir()
	src, ro, dst := filepath.Join(dir, "src"), filepath.Join(dir, "ro"), filepath.Join(dir, "dst")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "a"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "a/1"), []byte("1"), 0o644))
	require.NoError(t, os.MkdirAll(ro, 0o755))
	require.NoError(t, os.MkdirAll(dst, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "extra"), []byte("x"), 0o644))
	if out, err := exec.Command("mount", "--bind", src, ro).CombinedOutput(); err != nil {
		t.Skipf("mount --bind: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", ro).Run() })
	out, err := exec.Command("mount", "-o", "remount,ro,bind", ro).CombinedOutput()
	require.NoError(t, err, "%s", out)

	remote := hookNodes(1, nil, nil)
	remote[0].Local = false
	o := Options{Src: ro, Dst: dst, Work: filepath.Join(dir, "work"), Tool: copytool.Rsync, MaxFiles: 10,
		FinalPass: true, Delete: true, Nodes: remote, OnFailure: runner.Evict}
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.False(t, res.OK())
	require.ErrorContains(t, res.FinalErr, "runs only on a local node")
	require.FileExists(t, filepath.Join(dst, "extra"))

	o.Nodes = hookNodes(1, nil, nil)
	res, err = Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v %v", res.Failed, res.FinalErr)
	require.NoFileExists(t, filepath.Join(dst, "extra"))
	require.FileExists(t, filepath.Join(dst, "a/1"))
}
