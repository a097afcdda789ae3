//go:build linux

package syncer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/shquote"
	"github.com/stretchr/testify/require"
)

// symlinkedSrc makes dir/real/src holding the file a and the symbolic
// link out -> dir/outside (a directory holding secret), and dir/via ->
// dir/real. It returns SRC spelt through the link, dir/via/src.
func symlinkedSrc(t *testing.T, dir string) string {
	t.Helper()
	real := filepath.Join(dir, "real", "src")
	require.NoError(t, os.MkdirAll(real, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(real, "a"), []byte("a"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "outside"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "outside", "secret"), []byte("secret"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(dir, "outside"), filepath.Join(real, "out")))
	require.NoError(t, os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "via")))
	return filepath.Join(dir, "via", "src")
}

// TestRcloneConfinedThroughSymlinkedSrc: a component of SRC's path is a
// symbolic link (issue 19.9). Through Run, SRC is resolved first, and
// rclone runs confined: no unconfined node. A node that sees SRC only
// through the link (here: copy.sh given SRC unresolved, as a node whose
// mounts differ from this machine's would) is confined too: the
// confinement resolves SRC there; it used to find no mount at the
// spelling it was given and ran rclone unconfined, blaming a missing
// mount namespace. Confined, a symbolic link inside SRC is not followed.
func TestRcloneConfinedThroughSymlinkedSrc(t *testing.T) {
	needTool(t, "rclone")
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
	if !canConfine(t, nil) {
		t.Skip("rclone cannot be confined here")
	}
	src := symlinkedSrc(t, dir)

	res, err := Run(context.Background(), Options{
		Src: src, Dst: filepath.Join(dir, "dst"), Work: filepath.Join(dir, "work"), Tool: copytool.Rclone,
		MaxFiles: 1, FinalPass: true, Nodes: localNodes(1),
	})
	require.NoError(t, err)
	require.True(t, res.OK(), "failed %+v final %v", res.Failed, res.FinalErr)
	require.Empty(t, res.Unconfined)
	b, err := os.ReadFile(filepath.Join(dir, "dst", "a"))
	require.NoError(t, err)
	require.Equal(t, "a", string(b))

	// The copy script given SRC through the link: confined, so that
	// SRC/out/secret cannot be read; the secret is readable outside.
	o := Options{Src: src, Tool: copytool.Rclone}
	log := filepath.Join(dir, "confine.log")
	secret := shquote.Quote(filepath.Join(src, "out", "secret"))
	out, err := exec.Command("sh", "-c", o.copyScript("rclone-confined", "cat "+secret, "", "", log, keep{})).Output()
	logText, _ := os.ReadFile(log)
	require.NotContains(t, string(out), unconfinedWord, "log:\n%s", logText)
	require.Error(t, err, "the link inside SRC was followed: log:\n%s", logText)
	require.Contains(t, string(logText), "Too many levels of symbolic links")
	require.NotContains(t, string(logText), "secret\n")
	b, err = exec.Command("cat", filepath.Join(src, "out", "secret")).Output()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "secret"))
}

// TestRcloneUnconfinedNamesTheCause: where rclone runs unconfined, the
// result says why: no mount namespace (unshare fails), or one in which
// SRC could not be bind-mounted (mount fails), the copy's log naming
// the step.
func TestRcloneUnconfinedNamesTheCause(t *testing.T) {
	needTool(t, "rclone")
	for _, c := range []struct {
		fake  string // the program that fails
		mount bool
	}{{"unshare", false}, {"mount", true}} {
		t.Run(c.fake, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
			if c.mount && !canConfine(t, nil) {
				t.Skip("no mount namespace here")
			}
			bin := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(bin, c.fake), []byte("#!/bin/sh\nexit 1\n"), 0o755))
			t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
			src := filepath.Join(dir, "src")
			require.NoError(t, os.MkdirAll(src, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
			work := filepath.Join(dir, "work")
			res, err := Run(context.Background(), Options{
				Src: src, Dst: filepath.Join(dir, "dst"), Work: work, Tool: copytool.Rclone,
				MaxFiles: 1, Nodes: localNodes(1),
			})
			require.NoError(t, err)
			require.True(t, res.OK(), "failed %+v", res.Failed)
			require.Equal(t, []string{"local"}, res.Unconfined)
			log, err := os.ReadFile(filepath.Join(work, "log", "1", "part.000001.log"))
			require.NoError(t, err)
			if c.mount {
				require.Equal(t, []string{"local"}, res.UnconfinedMount)
				require.Contains(t, string(log), "drove: confine: cannot bind-mount "+src+" on itself")
			} else {
				require.Empty(t, res.UnconfinedMount)
			}
		})
	}
}
