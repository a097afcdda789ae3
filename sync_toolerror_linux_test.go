package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// readOnly makes dir read-only for the test, root included: a read-only
// bind mount of it on itself. It skips the test where that is not allowed.
func readOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("bind mount refused here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	require.NoError(t, unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""))
}

// TestSyncShowsToolErrorLine: a copy that fails shows the tool's own line
// saying why (issue 19.10: only "exit 1" was shown): here DST is on a
// read-only file system, which nothing drove checks before copying.
func TestSyncShowsToolErrorLine(t *testing.T) {
	for _, c := range []struct{ mode, want string }{
		{"rclone", "Failed to copy with 2 errors: last error was: "},
		// rsync does not start: copy.sh's mkdir of its temporary
		// directory in DST fails first.
		{"rsync", `mkdir: cannot create directory `},
	} {
		t.Run(c.mode, func(t *testing.T) {
			if _, err := exec.LookPath(c.mode); err != nil {
				t.Skip(c.mode + " is not installed")
			}
			dir := t.TempDir()
			t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
			src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
			for i := range 2 {
				p := filepath.Join(src, "d", fmt.Sprintf("f%d", i))
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
			}
			require.NoError(t, os.Mkdir(dst, 0o755))
			readOnly(t, dst)
			args := []string{"sync", "--mode", c.mode, "-n", "1/:", "-d", work, "--max-attempts", "1", src, dst}
			if c.mode == "rclone" {
				// One try of rclone's own, not three.
				args = append(args[:len(args)-2], "--tool-args=--retries=1", src, dst)
			}
			r := drove(t, nil, nil, args...)
			require.Equal(t, exitFailed, r.code, r.stderr)
			log := filepath.Join(work, "log", "1", "part.000001.log")
			require.Regexp(t, `(?m)^drove: sync: failed: partition 1/part.000001, list \S+, node local, exited with status \d+: `+
				regexp.QuoteMeta(c.want)+`.*[Rr]ead-only file system.*, log `+regexp.QuoteMeta(log)+`$`, r.stderr)
		})
	}
}
