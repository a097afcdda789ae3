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

// bindMount mounts dir on at (created) for the test, as root; it skips the
// test where that is not allowed.
func bindMount(t *testing.T, dir, at string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	require.NoError(t, os.MkdirAll(at, 0o755))
	if err := unix.Mount(dir, at, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("bind mount refused here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(at, unix.MNT_DETACH) })
}

// TestOverlapThroughBindMount: a bind mount of the same directory is
// another spelling that no symbolic link resolves; drove compares the
// directories' identities (device, inode) with every directory above the
// other path, so SRC inside a bind mount of DST (and the other ways round)
// is refused, and --delete cannot empty SRC (issue 19.3).
func TestOverlapThroughBindMount(t *testing.T) {
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	src := filepath.Join(vol, "incoming")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "d", "f"), []byte("precious"), 0o644))
	bind := filepath.Join(dir, "bind")
	bindMount(t, vol, bind)
	j := func(p ...string) string { return filepath.Join(append([]string{dir}, p...)...) }

	for _, tc := range []struct {
		name           string
		src, dst, work string
		what, of       string
	}{
		{"SRC inside DST's bind mount", src, bind, j("w"), "SRC", "DST"},
		{"SRC through the bind mount, inside DST", j("bind", "incoming"), vol, j("w"), "SRC", "DST"},
		{"DST is SRC through the bind mount", src, j("bind", "incoming"), j("w"), "DST", "SRC"},
		{"DST not yet made, inside SRC", src, j("bind", "incoming", "new", "deeper"), j("w"), "DST", "SRC"},
		{"work inside SRC through the bind mount", src, j("dst"), j("bind", "incoming", "w"), "work directory", "SRC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Src: tc.src, Dst: tc.dst, Work: tc.work, Tool: copytool.Rsync, Delete: true}
			err := checkOverlap(&o)
			var oe *OverlapError
			require.ErrorAs(t, err, &oe)
			require.Equal(t, tc.what, oe.What, err.Error())
			require.Equal(t, tc.of, oe.Of, err.Error())
		})
	}

	_, err := Run(context.Background(), Options{Src: src, Dst: bind, Work: j("w"), Tool: copytool.Rsync,
		MaxFiles: 10, FinalPass: true, Delete: true, Nodes: localNodes(1)})
	var oe *OverlapError
	require.ErrorAs(t, err, &oe)
	require.FileExists(t, filepath.Join(src, "d", "f"))
	require.NoDirExists(t, j("w"))
}
