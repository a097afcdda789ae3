package syncer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// TestOverlapRcloneLocalRemotes: an rclone remote that is a directory of
// this machine — ":local:PATH", a configured remote of type local, an
// alias of one — is compared with SRC and the work directory like a path
// (issue 19.3). Before, a remote DST was never compared, and --delete with
// SRC inside DST emptied SRC.
func TestOverlapRcloneLocalRemotes(t *testing.T) {
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	src := filepath.Join(vol, "incoming")
	require.NoError(t, os.MkdirAll(src, 0o755))
	conf := map[string]map[string]string{
		"disk":    {"type": "local"},
		"volume":  {"type": "alias", "remote": vol},
		"volume2": {"type": "alias", "remote": "disk:" + vol},
		"far":     {"type": "s3"},
	}
	for _, tc := range []struct {
		dst  string
		what string // "" when allowed
	}{
		{":local:" + vol, "SRC"},
		{":local,case_insensitive=false:" + vol, "SRC"},
		{"disk:" + vol, "SRC"},
		{"disk:" + filepath.Join(src, "sub"), "DST"},
		{"volume:", "SRC"},
		{"volume:incoming", "DST"}, // the same directory
		{"volume2:", "SRC"},
		{":local:" + filepath.Join(dir, "elsewhere"), ""},
		{"far:bucket", ""},
	} {
		t.Run(tc.dst, func(t *testing.T) {
			o := Options{Src: src, Dst: tc.dst, Work: filepath.Join(dir, "w"), Tool: copytool.Rclone,
				RcloneConfig: func() map[string]map[string]string { return conf }}
			err := checkOverlap(&o)
			if tc.what == "" {
				require.NoError(t, err)
				return
			}
			var oe *OverlapError
			require.ErrorAs(t, err, &oe)
			require.Equal(t, tc.what, oe.What, err.Error())
			require.Contains(t, err.Error(), " "+tc.dst+" ")
		})
	}
}

// TestOverlapRcloneConfigDump: the remotes come from `rclone config dump`
// on this machine (here, a config file of the test's own).
func TestOverlapRcloneConfigDump(t *testing.T) {
	needTool(t, "rclone")
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	src := filepath.Join(vol, "incoming")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "d", "f"), []byte("precious"), 0o644))
	cfg := filepath.Join(dir, "rclone.conf")
	require.NoError(t, os.WriteFile(cfg, []byte("[vol]\ntype = alias\nremote = "+vol+"\n"), 0o600))
	t.Setenv("RCLONE_CONFIG", cfg)
	_, err := Run(context.Background(), Options{Src: src, Dst: "vol:", Work: filepath.Join(dir, "w"), Tool: copytool.Rclone,
		MaxFiles: 10, FinalPass: true, Delete: true, Nodes: localNodes(1)})
	var oe *OverlapError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "SRC", oe.What)
	require.FileExists(t, filepath.Join(src, "d", "f"))
	require.NoDirExists(t, filepath.Join(dir, "w"))
}

// TestOverlapRemoteMarker: a remote drove cannot resolve to a directory
// here (a union remote over the volume, as an sftp remote onto the same
// storage would be) is checked with --delete by a marker file made in SRC
// and looked for under DST; the marker is removed afterwards.
func TestOverlapRemoteMarker(t *testing.T) {
	testkit.Slow(t)
	needTool(t, "rclone")
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	src := filepath.Join(vol, "incoming")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "d", "f"), []byte("precious"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "other"), 0o755))
	cfg := filepath.Join(dir, "rclone.conf")
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.MkdirAll(empty, 0o755))
	require.NoError(t, os.WriteFile(cfg, []byte("[u]\ntype = union\nupstreams = "+vol+" "+empty+"\n\n[o]\ntype = union\nupstreams = "+
		filepath.Join(dir, "other")+" "+empty+"\n"), 0o600))
	t.Setenv("RCLONE_CONFIG", cfg)
	opts := func(dst string) Options {
		return Options{Src: src, Dst: dst, Work: filepath.Join(dir, "w"), Tool: copytool.Rclone,
			MaxFiles: 10, FinalPass: true, Delete: true, Nodes: localNodes(1)}
	}
	_, err := Run(context.Background(), opts("u:"))
	var oe *OverlapError
	require.ErrorAs(t, err, &oe)
	require.Contains(t, err.Error(), "shows in DST as u:incoming")
	require.FileExists(t, filepath.Join(src, "d", "f"))
	require.NoDirExists(t, filepath.Join(dir, "w"))
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the marker is removed")

	res, err := Run(context.Background(), opts("o:copy"))
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res)
	require.FileExists(t, filepath.Join(dir, "other", "copy", "d", "f"))
}

// TestPathsResolvedAsTheKernelDoes: "lnk/.." is the directory above the
// link's target, as ls and rsync see it, not the directory holding lnk
// (issue 19.9). A lexical clean made DST look apart from SRC.
func TestPathsResolvedAsTheKernelDoes(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	require.NoError(t, os.MkdirAll(filepath.Join(real, "t"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(real, "src", "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(real, "src", "d", "f"), []byte("precious"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(real, "t"), filepath.Join(dir, "a", "lnk")))

	// DST a/lnk/.. is real/, which holds SRC.
	o := Options{Src: filepath.Join(real, "src"), Dst: filepath.Join(dir, "a", "lnk") + "/..", Work: filepath.Join(dir, "w"),
		Tool: copytool.Rsync, MaxFiles: 10, FinalPass: true, Delete: true, Nodes: localNodes(1)}
	_, err := Run(context.Background(), o)
	var oe *OverlapError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, "SRC", oe.What, err.Error())
	require.FileExists(t, filepath.Join(real, "src", "d", "f"))

	// SRC a/lnk/../src is real/src: copied from there.
	o.Src, o.Dst = filepath.Join(dir, "a", "lnk")+"/../src", filepath.Join(dir, "dst")
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res)
	require.FileExists(t, filepath.Join(dir, "dst", "d", "f"))
}
