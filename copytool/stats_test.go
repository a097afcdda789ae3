package copytool

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// statsTree writes two files (5 bytes), a directory and a symlink.
func statsTree(t *testing.T) (src string) {
	t.Helper()
	src = filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "a"), []byte("a\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "d", "b"), []byte("bb\n"), 0o644))
	require.NoError(t, os.Symlink("a", filepath.Join(src, "l")))
	return src
}

// runStats runs a tool and reads all it printed.
func runStats(t *testing.T, tool Tool, args ...string) Stats {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "RCLONE_CONFIG="+filepath.Join(t.TempDir(), "none.conf"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var s Stats
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		s.Read(tool, sc.Text())
	}
	return s
}

// TestStatsRsync: rsync's own --stats, first run and rerun: the rerun
// transferred nothing and found every entry already there.
func TestStatsRsync(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("rsync is not installed")
	}
	src := statsTree(t)
	dst := filepath.Join(t.TempDir(), "dst")
	list := filepath.Join(t.TempDir(), "list")
	require.NoError(t, os.WriteFile(list, []byte("a\x00d/b\x00l\x00"), 0o644))
	run := func() Stats {
		args := append([]string{"rsync", "-a"}, StatsArgs(Rsync)...)
		return runStats(t, Rsync, append(args, "--from0", "--files-from="+list, src+"/", dst+"/")...)
	}
	s := run()
	require.True(t, s.Reported)
	require.Equal(t, int64(3), s.Files, "two files and a symlink")
	require.Equal(t, int64(5), s.Bytes)
	require.Zero(t, s.Present)
	require.NoError(t, os.WriteFile(filepath.Join(src, "a"), []byte("A\n"), 0o644))
	require.NoError(t, os.Chtimes(filepath.Join(src, "a"), timeAgo(), timeAgo()))
	s = run()
	require.Equal(t, int64(1), s.Files, "one file changed")
	require.Equal(t, int64(2), s.Bytes)
	require.Equal(t, int64(2), s.Present)
	s = run()
	require.True(t, s.Reported)
	require.Zero(t, s.Files)
	require.Zero(t, s.Bytes)
	require.Equal(t, int64(3), s.Present)
}

// TestStatsRsyncSeparators: counts with digit separators, as rsync prints
// them with -h or in other locales.
func TestStatsRsyncSeparators(t *testing.T) {
	var s Stats
	for _, l := range []string{
		"Number of files: 1,234,567 (reg: 1,200,000, dir: 30,000, link: 4,567)",
		"Number of created files: 5,000 (reg: 4,000, dir: 500, link: 500)",
		"Number of regular files transferred: 4.100",
		"Total transferred file size: 1'048'576 bytes",
	} {
		s.Read(Rsync, l)
	}
	require.Equal(t, int64(4600), s.Files)
	require.Equal(t, int64(1048576), s.Bytes)
	require.Equal(t, int64(1234567-30000-4600), s.Present)
}

// TestStatsRclone: rclone's JSON log with its statistics: transfers,
// then checks on a rerun, and the symlink it skipped, named once however
// often rclone retried.
func TestStatsRclone(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Skip("rclone is not installed")
	}
	src := statsTree(t)
	dst := filepath.Join(t.TempDir(), "dst")
	list := filepath.Join(t.TempDir(), "list")
	require.NoError(t, os.WriteFile(list, []byte("a\nd/b\nl\n"), 0o644))
	run := func() Stats {
		args := append([]string{"rclone", "copy", "--files-from-raw", list}, StatsArgs(Rclone)...)
		return runStats(t, Rclone, append(args, src, dst)...)
	}
	s := run()
	require.True(t, s.Reported)
	require.Equal(t, int64(2), s.Files)
	require.Equal(t, int64(5), s.Bytes)
	require.Zero(t, s.Present)
	require.Equal(t, map[string]bool{"l": true}, s.Links)
	s = run()
	require.Zero(t, s.Files)
	require.Equal(t, int64(2), s.Present)
	require.Equal(t, map[string]bool{"l": true}, s.Links)
}

// TestStatsRcloneError: rclone's own error line, from a real failure (DST
// under a file).
func TestStatsRcloneError(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Skip("rclone is not installed")
	}
	src := statsTree(t)
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	args := append([]string{"rclone", "copy", "--retries", "1"}, StatsArgs(Rclone)...)
	cmd := exec.Command(args[0], append(args[1:], src, filepath.Join(file, "dst"))...)
	cmd.Env = append(os.Environ(), "RCLONE_CONFIG="+filepath.Join(t.TempDir(), "none.conf"))
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	var s Stats
	for _, l := range strings.Split(string(out), "\n") {
		s.Read(Rclone, l)
	}
	require.Contains(t, s.ErrorLine, "not a directory", "%s", out)
	require.True(t, strings.HasPrefix(s.ErrorLine, "Failed to copy"), "rclone's fatal line, not %q", s.ErrorLine)
}

func timeAgo() time.Time { return time.Now().Add(-time.Hour) }

// TestStatsErrorLine: rsync's first message is its error line; a name
// with a terminal escape or a newline in it is quoted, and a long line
// is cut.
func TestStatsErrorLine(t *testing.T) {
	var s Stats
	for _, l := range []string{
		`rsync: [Receiver] mkdir "/d/x" failed: Read-only file system (30)`,
		`rsync: [Receiver] mkdir "/d/y" failed: Read-only file system (30)`,
		`rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [generator=3.5.0]`,
	} {
		s.Read(Rsync, l)
	}
	require.Equal(t, `rsync: [Receiver] mkdir "/d/x" failed: Read-only file system (30)`, s.ErrorLine)

	s = Stats{}
	s.Read(Rclone, `{"level":"error","msg":"Failed to copy: boom","object":"a\u001b[2Jb"}`)
	require.Equal(t, `"a\x1b[2Jb: Failed to copy: boom"`, s.ErrorLine)
	s = Stats{}
	s.Read(Rclone, "2026/12/05 18:00:10 Failed to copy: "+strings.Repeat("é", 400))
	require.LessOrEqual(t, len(s.ErrorLine), maxErrorLine+3)
	require.True(t, strings.HasSuffix(s.ErrorLine, "..."))
	require.True(t, utf8.ValidString(s.ErrorLine))
}

// TestStatsRsyncError: rsync's own error line, from a real failure (DST
// under a file): its first message, not the "rsync error:" summary.
func TestStatsRsyncError(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("rsync is not installed")
	}
	src := statsTree(t)
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	args := append([]string{"rsync", "-a"}, StatsArgs(Rsync)...)
	out, err := exec.Command(args[0], append(args[1:], src+"/", filepath.Join(file, "dst")+"/")...).CombinedOutput()
	require.Error(t, err)
	var s Stats
	for _, l := range strings.Split(string(out), "\n") {
		s.Read(Rsync, l)
	}
	require.Regexp(t, `^rsync: .*"[^"]*/file/dst/?": Not a directory \(20\)$`, s.ErrorLine, "%s", out)
}
