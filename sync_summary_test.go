//go:build unix

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

// TestSyncSummaryCountsWhatMoved: the summary says what rsync reported,
// not what the partitions listed (issue 19.8: a rerun that moved nothing
// said "248.2 MiB copied at 118 MiB/s"). The first run transferred every
// file; a new run over the finished work directory transferred none and
// found every file already in DST; with --no-final-pass the FIFO that no
// copy took is reported skipped, with the reason.
func TestSyncSummaryCountsWhatMoved(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("rsync is not installed")
	}
	dir := t.TempDir()
	src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	for i := range 12 {
		p := filepath.Join(src, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%d", i))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, make([]byte, 1000), 0o644))
	}
	require.NoError(t, os.Symlink("f0", filepath.Join(src, "d0", "link")))
	require.NoError(t, unix.Mkfifo(filepath.Join(src, "fifo"), 0o644))
	args := []string{"sync", "-n", "2/:", "-f", "4", "-d", work, "--no-final-pass", src, dst}

	r := drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: sync: this run transferred 13 files, 11.7 KiB (", "12 files and a symlink")
	require.Contains(t, r.stderr, "; 0 files were already in DST\n")
	require.Contains(t, r.stderr, "drove: sync: skipped: 1 devices, FIFOs or sockets (partitions hold only files and symbolic links; the final pass, which copies them, did not run)\n")
	require.NoFileExists(t, filepath.Join(dst, "fifo"))

	r = drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: sync: this run transferred 0 files, 0 B (0 B/s); 13 files were already in DST\n")

	// With the final pass (the run resumes: every partition is done),
	// rsync copies the FIFO: nothing is skipped.
	args = args[:len(args)-3]
	r = drove(t, nil, nil, append(args, src, dst)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, regexp.MustCompile(`this run transferred 0 files, 0 B \(0 B/s\); 0 files were already in DST; the final pass transferred 1 file, 0 B\n`), r.stderr)
	require.Contains(t, r.stderr, "this run copied 0 of its partitions")
	require.NotContains(t, r.stderr, "skipped:")
	fi, err := os.Lstat(filepath.Join(dst, "fifo"))
	require.NoError(t, err)
	require.Equal(t, os.ModeNamedPipe, fi.Mode().Type())
}

// TestSyncSummaryRclone: rclone's own statistics, read from its JSON log:
// the symlinks it skips are reported skipped, not copied (issue 19.8),
// and a rerun transferred nothing and found every file already there.
func TestSyncSummaryRclone(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Skip("rclone is not installed")
	}
	dir := t.TempDir()
	t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
	src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	for i := range 8 {
		p := filepath.Join(src, fmt.Sprintf("d%d", i%2), fmt.Sprintf("f%d", i))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, make([]byte, 100), 0o644))
	}
	require.NoError(t, os.Symlink("f0", filepath.Join(src, "d0", "l0")))
	require.NoError(t, os.Symlink("f1", filepath.Join(src, "d1", "l1")))
	args := []string{"sync", "--mode", "rclone", "-n", "2/:", "-f", "3", "-d", work, "--no-final-pass", src, dst}

	r := drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: sync: this run transferred 8 files, 800 B (")
	require.Contains(t, r.stderr, "; 0 files were already in DST\n")
	require.Contains(t, r.stderr, "drove: sync: skipped: 2 symbolic links (rclone copies symbolic links only when")

	r = drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: sync: this run transferred 0 files, 0 B (0 B/s); 8 files were already in DST\n")
	require.Contains(t, r.stderr, "drove: sync: skipped: 2 symbolic links")
}
