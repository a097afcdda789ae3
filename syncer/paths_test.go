package syncer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/stretchr/testify/require"
)

// TestOverlapRefused: SRC, DST and the work directory may not be the same
// or nested in any direction once symbolic links are resolved — through a
// symlinked SRC, DST, work directory or parent, and for paths that do not
// exist yet. Nothing is created, copied or deleted when refused.
func TestOverlapRefused(t *testing.T) {
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	require.NoError(t, os.MkdirAll(filepath.Join(vol, "incoming", "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(vol, "incoming", "sub", "f"), []byte("precious"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "other"), 0o755))
	require.NoError(t, os.Symlink(vol, filepath.Join(dir, "vol-link")))
	require.NoError(t, os.Symlink(filepath.Join(vol, "incoming"), filepath.Join(dir, "in-link")))
	require.NoError(t, os.Symlink("vol/incoming/sub", filepath.Join(dir, "sub-link")))
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling")))
	j := func(p ...string) string { return filepath.Join(append([]string{dir}, p...)...) }

	for _, tc := range []struct {
		name           string
		src, dst, work string
		what, of       string // "" when allowed
	}{
		{"apart", j("vol/incoming"), j("other/dst"), j("w"), "", ""},
		{"SRC inside DST", j("vol/incoming"), j("vol"), j("w"), "SRC", "DST"},
		{"SRC inside DST via symlinked SRC", j("in-link"), j("vol"), j("w"), "SRC", "DST"},
		{"SRC inside DST via symlinked DST", j("vol/incoming"), j("vol-link"), j("w"), "SRC", "DST"},
		{"DST inside SRC", j("vol"), j("vol/incoming/new"), j("w"), "DST", "SRC"},
		{"DST inside SRC via symlinked parent", j("vol/incoming"), j("sub-link/new/deeper"), j("w"), "DST", "SRC"},
		{"DST is SRC through a symlink", j("vol"), j("vol-link"), j("w"), "DST", "SRC"},
		{"work inside DST", j("other"), j("vol"), j("vol/incoming/w"), "work directory", "DST"},
		{"work inside DST via symlink", j("other"), j("vol"), j("in-link/w"), "work directory", "DST"},
		{"work inside SRC via symlink", j("vol"), j("other/dst"), j("vol-link/w"), "work directory", "SRC"},
		{"SRC inside work", j("vol/incoming"), j("other/dst"), j("vol"), "SRC", "work directory"},
		{"DST inside work", j("other"), j("vol/incoming/d"), j("vol"), "DST", "work directory"},
		{"work is DST", j("other"), j("vol"), j("vol-link"), "work directory", "DST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Src: tc.src, Dst: tc.dst, Work: tc.work, Tool: copytool.Rsync, Delete: true}
			err := checkOverlap(&o)
			if tc.what == "" {
				require.NoError(t, err)
				return
			}
			var oe *OverlapError
			require.ErrorAs(t, err, &oe)
			require.Equal(t, tc.what, oe.What, err.Error())
			require.Equal(t, tc.of, oe.Of, err.Error())
			require.NotContains(t, err.Error(), "\n")
			require.NotContains(t, err.Error(), "--")
		})
	}
	_, err := resolve(filepath.Join(dir, "dangling", "x"))
	require.ErrorContains(t, err, "symbolic link to nothing")

	// Through Run, with --delete: SRC is left alone and nothing is created.
	_, err = Run(context.Background(), Options{Src: j("in-link"), Dst: j("vol"), Work: j("w"), Tool: copytool.Rsync,
		MaxFiles: 10, FinalPass: true, Delete: true, Nodes: localNodes(1)})
	var oe *OverlapError
	require.ErrorAs(t, err, &oe)
	require.FileExists(t, filepath.Join(vol, "incoming", "sub", "f"))
	require.NoDirExists(t, j("w"))
}

func TestIsRemote(t *testing.T) {
	for _, c := range []struct {
		tool copytool.Tool
		dst  string
		want bool
	}{
		{copytool.Rclone, "s3:bucket/dir", true},
		{copytool.Rclone, "remote:", true},
		{copytool.Rclone, "/abs/with:colon", false},
		{copytool.Rclone, "rel/with:colon", false}, // the colon is past the first slash: a relative directory
		{copytool.Rclone, "plain", false},
		{copytool.Rsync, "host:path", false}, // rsync mode copies to directories only
	} {
		require.Equal(t, c.want, IsRemote(c.tool, c.dst), "%s %q", c.tool, c.dst)
	}
}
