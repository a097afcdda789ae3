package syncer

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// teardownLine is the receiving rsync's broken pipe after its exit-23
// summary when the daemon reading SRC has already gone.
const teardownLine = "rsync: [Receiver] write error: Broken pipe (32)"

// hookHost runs jobs on this machine with the real tools, calling before
// ahead of each partition job (cmd holds its list path) and after once it
// has ended: a seam that changes SRC between the listing and the copy, by
// construction. before returns the command to run instead, or "".
type hookHost struct {
	runner.Local
	before func(cmd string) string
	after  func(cmd string)
}

func (h *hookHost) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	if h.before != nil {
		if c := h.before(cmd); c != "" {
			cmd = c
		}
	}
	err := h.Local.Run(ctx, cmd, stdout, stderr)
	if h.after != nil {
		h.after(cmd)
	}
	return err
}

func hookNodes(slots int, before func(cmd string) string, after func(cmd string)) []Node {
	return []Node{{Node: runner.Node{Name: "local", Slots: slots, Connect: func(context.Context) (runner.Host, error) {
		return &hookHost{Local: runner.Local{Grace: time.Second}, before: before, after: after}, nil
	}}, Local: true}}
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skip(name + " is not installed")
	}
}

// TestVanishedAfterListingIsNotAFailure: rsync exits 23 (not 24) for a
// --files-from entry deleted after it was listed, and for one whose
// parent became a file, and for one deleted and made again before drove
// looks. That is a live tree, not a failure: the partition counts as
// copied, the node stays, every other partition and the final pass run,
// and DST equals SRC.
func TestVanishedAfterListingIsNotAFailure(t *testing.T) {
	needTool(t, "rsync")
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	for _, p := range []string{"a/1", "a/2", "sub/small2", "sub/keep", "gone/x", "gone/y", "z/1", "z/2", "z/3"} {
		require.NoError(t, os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, p), []byte(p), 0o644))
	}
	hit := 0
	before := func(cmd string) string {
		if !strings.Contains(cmd, "part.000001") {
			return ""
		}
		hit++
		// After the listing, before the copy: one file deleted, one
		// directory replaced by a file, one file deleted for now.
		require.NoError(t, os.Remove(filepath.Join(src, "sub", "small2")))
		require.NoError(t, os.RemoveAll(filepath.Join(src, "gone")))
		require.NoError(t, os.WriteFile(filepath.Join(src, "gone"), []byte("now a file"), 0o644))
		require.NoError(t, os.Remove(filepath.Join(src, "z", "1")))
		return ""
	}
	after := func(cmd string) {
		if strings.Contains(cmd, "part.000001") {
			// Made again after the copy, before drove reads its log.
			require.NoError(t, os.WriteFile(filepath.Join(src, "z", "1"), []byte("made again"), 0o644))
		}
	}
	res, err := Run(context.Background(), Options{
		Src: src, Dst: dst, Work: filepath.Join(dir, "work"), Tool: copytool.Rsync,
		MaxFiles: 100, FinalPass: true, Nodes: hookNodes(1, before, after), OnFailure: runner.Evict,
	})
	require.NoError(t, err)
	require.Equal(t, 1, hit)
	require.True(t, res.OK(), "failed %+v unrun %d evicted %v final %v", res.Failed, len(res.Unrun), res.Evicted, res.FinalErr)
	require.Empty(t, res.Evicted)
	require.Equal(t, 1, res.Vanished)
	require.True(t, res.FinalRan)
	rep, err := Verify(context.Background(), VerifyOptions{Src: src, Dst: dst, Checksum: true, Extras: true})
	require.NoError(t, err)
	require.Zero(t, rep.Differences, "%v", rep.List)
}

// TestExit23ThatIsNotVanishedFails: rsync's exit 23 for a path that is
// still there here, unchanged since it was listed (a node that does not
// see the tree as drove does: here the first partition's rsync reads a
// copy of SRC without its first file) is a failed partition, and only
// that: the node is not evicted, the other partitions are copied, and a
// second run finishes.
func TestExit23ThatIsNotVanishedFails(t *testing.T) {
	needTool(t, "rsync")
	d := newStaleDirs(t, "a/1", "a/2", "b/1", "b/2", "c/1", "c/2") // d.other: what the node sees
	src, dst, work, other := d.src, d.dst, d.work, d.other
	// Unchanged since the listing means changed before it, by more than
	// the clock slack goneSince allows: wait that out (no race: only the
	// age of the files matters).
	time.Sleep(2 * ctimeSlack)
	hide := true
	before := func(cmd string) string {
		if !hide || !strings.Contains(cmd, "part.000001") {
			return ""
		}
		require.NoError(t, os.Remove(filepath.Join(other, firstListed(t, work, "\x00"))))
		return daemonServes(t, cmd, src, other)
	}
	after := func(string) {}
	o := Options{
		Src: src, Dst: dst, Work: work, Tool: copytool.Rsync,
		MaxFiles: 2, FinalPass: true, Nodes: hookNodes(1, before, after), OnFailure: runner.Evict,
	}
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.False(t, res.OK())
	require.Len(t, res.Failed, 1)
	require.Equal(t, 1, res.Failed[0].Part.Seq)
	require.Contains(t, res.Failed[0].Reason, "which is there on this machine")
	require.Empty(t, res.Evicted)
	require.Empty(t, res.Unrun)
	require.Equal(t, 2, res.PartsDone, "the other partitions were copied")
	require.False(t, res.FinalRan)

	hide = false
	res, err = Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res.Failed)
	require.True(t, res.FinalRan)
}

// TestCheckExit23: the judgement of an attempt's log, message by message.
func TestCheckExit23(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "here"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "here", "f"), nil, 0o644))
	require.NoError(t, os.Symlink(dir, filepath.Join(src, "link")))
	head := "== Mon Jan 1 00:00:00 UTC 2026 n1\n"
	done := "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]\n" + exit23Line + "\n"
	for _, tc := range []struct {
		name, attempt string
		ok            bool
	}{
		{"gone", `rsync: [sender] link_stat "` + src + `/gone" failed: No such file or directory (2)` + "\n", true},
		{"parent became a file", `rsync: [sender] link_stat "` + src + `/here/f/x" failed: Not a directory (20)` + "\n", true},
		{"through a symlink", `rsync: [sender] link_stat "` + src + `/link/src/here/f" failed: Too many levels of symbolic links (40)` + "\n", true},
		{"translated", `rsync: [sender] link_stat "` + src + `/gone" failed: Aucun fichier ou dossier de ce type (2)` + "\n", true},
		{"escaped newline", `rsync: [sender] link_stat "` + src + `/new\#012line" failed: No such file or directory (2)` + "\n", true},
		{"there after all", `rsync: [sender] link_stat "` + src + `/here/f" failed: No such file or directory (2)` + "\n", false},
		{"permission", `rsync: [sender] send_files failed to open "` + src + `/here/f": Permission denied (13)` + "\n", false},
		{"mixed", `rsync: [sender] link_stat "` + src + `/gone" failed: No such file or directory (2)` + "\n" +
			`rsync: [receiver] mkstemp "x" failed: No space left on device (28)` + "\n", false},
		{"nothing said", "", false},
		{"gone, in the chrooted module", `rsync: [sender] link_stat "/gone" (in root) failed: No such file or directory (2)` + "\n", true},
		{"gone, in the user module", `rsync: [sender] link_stat "here/f/x" (in user) failed: Not a directory (20)` + "\n", true},
		{"vanished, in a module", `file has vanished: "/here/g" (in root)` + "\n" + `rsync: [sender] link_stat "/gone" (in root) failed: No such file or directory (2)` + "\n", true},
		{"there after all, in a module", `rsync: [sender] link_stat "/here/f" (in root) failed: No such file or directory (2)` + "\n", false},
		{"another module", `rsync: [sender] link_stat "/gone" (in other) failed: No such file or directory (2)` + "\n", false},
		{"broken pipe before the summary", `rsync: [sender] link_stat "/gone" (in root) failed: No such file or directory (2)` + "\n" + teardownLine + "\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(dir, "log")
			// An earlier attempt's messages must not count.
			old := head + `rsync: [sender] send_files failed to open "x": Permission denied (13)` + "\n" + done
			require.NoError(t, os.WriteFile(log, []byte(old+head+tc.attempt+done), 0o644))
			err := checkExit23(log, src, time.Time{}, nil)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
	// The receiver's broken pipe after its summary is the daemon's end.
	log := filepath.Join(dir, "teardown")
	gone := `rsync: [sender] link_stat "/gone" (in root) failed: No such file or directory (2)` + "\n"
	require.NoError(t, os.WriteFile(log, []byte(head+gone+strings.TrimSuffix(done, exit23Line+"\n")+teardownLine+"\n"+exit23Line+"\n"), 0o644))
	require.NoError(t, checkExit23(log, src, time.Time{}, nil))

	// A path that is there but changed after the listing (made again)
	// is a live tree; unchanged since, it is not.
	log = filepath.Join(dir, "since")
	there := `rsync: [sender] link_stat "/here/f" (in root) failed: No such file or directory (2)` + "\n"
	require.NoError(t, os.WriteFile(log, []byte(head+there+done), 0o644))
	listed := time.Now()
	require.Error(t, checkExit23(log, src, listed.Add(time.Hour), nil), "changed long before the listing")
	require.NoError(t, os.Remove(filepath.Join(src, "here", "f")))
	require.NoError(t, os.WriteFile(filepath.Join(src, "here", "f"), []byte("again"), 0o644))
	require.NoError(t, checkExit23(log, src, listed, nil))

	// Exit 24 (no exit-23 line) is always a vanished source.
	log = filepath.Join(dir, "log24")
	require.NoError(t, os.WriteFile(log, []byte(head+`file has vanished: "`+src+`/x"`+"\n"), 0o644))
	require.NoError(t, checkExit23(log, src, time.Time{}, nil))
}
