package syncer

import (
	"context"
	"github.com/drove-dev/drove/copytool"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestDeleteRefusedWhenSrcIsAnotherMount: SRC was a mounted file system;
// it is unmounted and the directory below holds something else (not
// empty). --delete is refused because SRC's device is not the one the
// journal's last run recorded, and DST is whole; DeleteEmptySrc lets it
// run (issue 19.5).
func TestDeleteRefusedWhenSrcIsAnotherMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	require.NoError(t, os.MkdirAll(src, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "underneath"), []byte("mount point's own file"), 0o644))
	if err := unix.Mount("tmpfs", src, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("tmpfs mount refused here: %v", err)
	}
	mounted := true
	t.Cleanup(func() {
		if mounted {
			_ = unix.Unmount(src, unix.MNT_DETACH)
		}
	})
	writeFiles(t, src, "")
	o := Options{Src: src, Dst: dst, Work: filepath.Join(dir, "w"), Tool: copytool.Rsync,
		MaxFiles: 3, FinalPass: true, Delete: true, Nodes: localNodes(2)}
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK())
	before := snapshot(t, dst)

	require.NoError(t, unix.Unmount(src, 0))
	mounted = false
	_, err = Run(context.Background(), o)
	var dr *DeleteRefusedError
	require.ErrorAs(t, err, &dr)
	require.False(t, dr.Empty)
	require.Contains(t, err.Error(), "not mounted")
	require.Equal(t, before, snapshot(t, dst))

	o.DeleteEmptySrc = true
	res, err = Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK())
	require.Len(t, snapshot(t, dst), 1)
}
