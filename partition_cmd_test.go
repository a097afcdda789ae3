package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var partitionUpdate = flag.Bool("update-partition", false, "rewrite testdata/partition/cmd.golden")

// partitionRun runs `drove partition args...` in-process; drain may be nil.
func partitionRun(t *testing.T, drain chan struct{}, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if drain == nil {
		drain = make(chan struct{})
	}
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, drain: drain}
	code = runWith(context.Background(), e, append([]string{"partition"}, args...))
	return code, out.String(), errOut.String()
}

// partitionTree builds a small fixed tree with awkward names under a new
// temporary directory whose own name is hostile too.
func partitionTree(t *testing.T) (tmp, src string) {
	t.Helper()
	tmp = t.TempDir()
	src = filepath.Join(tmp, "src $(touch pwned)")
	for i, n := range []string{"a", "b b", "#c", "-rf", "d'e", "f\ng", "sub/h", "sub/$(touch pwned)"} {
		p := filepath.Join(src, n)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(strings.Repeat("x", 100*(i+1))), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(src, "empty"), 0o755))
	require.NoError(t, os.Symlink("a", filepath.Join(src, "link")))
	return tmp, src
}

var partitionSummaryRE = regexp.MustCompile(`^drove: partition: \d+ files, .+, \d+ partitions, \d+ skipped \(.*\) in \S+\n$`)

// TestPartitionCmdGolden pins the job lines of every mode.
func TestPartitionCmdGolden(t *testing.T) {
	tmp, src := partitionTree(t)
	var b strings.Builder
	for i, args := range [][]string{
		{"--sort", "-f", "3", "-z", src, "/dst dir"},
		{"--sort", "-s", "500", "-m", "rclone", "--tool-args=--transfers=8", "--tool-args=a b", src, "remote:bucket"},
		{"--sort", "-f", "4", "-m", "list", src},
		{"--sort", "-f", "4", "--template", "tar -C {src} --null -T {list} -cf - >{dst}/{seq}.tar # {files} {bytes}", src, "/tars"},
		{"-n", "2", "-x", "sub", src, "host:/dst"},
	} {
		out := filepath.Join(tmp, fmt.Sprintf("parts %d", i))
		code, stdout, stderr := partitionRun(t, nil, append([]string{"-o", out}, args...)...)
		require.Equal(t, 0, code, stderr)
		assert.Regexp(t, partitionSummaryRE, stderr)
		shown := strings.ReplaceAll(strings.Join(args, " "), tmp, "$TMP")
		fmt.Fprintf(&b, "## %s\n%s", shown, strings.ReplaceAll(stdout, tmp, "$TMP"))
	}
	p := filepath.Join("testdata", "partition", "cmd.golden")
	if *partitionUpdate {
		require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test -run TestPartitionCmd -update-partition . to create it")
	require.Equal(t, string(want), b.String())
}

// TestPartitionCmdCopies runs the printed rsync lines and checks the copy.
func TestPartitionCmdCopies(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("rsync not installed")
	}
	tmp, src := partitionTree(t)
	dst := filepath.Join(tmp, "-dst 'x'")
	code, stdout, stderr := partitionRun(t, nil, "-f", "2", "-z", "-o", filepath.Join(tmp, "parts"), src, dst)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 5) // 9 files + 1 empty directory, 2 per partition
	for _, line := range lines {
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = tmp
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", line, out)
	}
	for _, n := range []string{"a", "b b", "#c", "-rf", "d'e", "f\ng", "sub/h", "sub/$(touch pwned)"} {
		a, err := os.ReadFile(filepath.Join(src, n))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(dst, n))
		require.NoError(t, err, n)
		assert.Equal(t, a, b, n)
	}
	target, err := os.Readlink(filepath.Join(dst, "link"))
	require.NoError(t, err)
	assert.Equal(t, "a", target)
	assert.DirExists(t, filepath.Join(dst, "empty"))
	assert.NoFileExists(t, filepath.Join(tmp, "pwned"))
}

func TestPartitionCmdBadInput(t *testing.T) {
	tmp, src := partitionTree(t)
	out := filepath.Join(tmp, "out")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", "10", src, "/d"}, "missing flags: --out"},
		{[]string{"-o", out, src, "/d"}, "give a file limit, a size limit or a number of partitions"},
		{[]string{"-o", out, "-s", "10Q", src, "/d"}, `size "10Q"`},
		{[]string{"-o", out, "-n", "2", "-f", "3", src, "/d"}, "cannot be combined"},
		{[]string{"-o", out, "-f", "3", src}, "rsync mode needs a destination"},
		{[]string{"-o", out, "-f", "3", "-m", "rclone", "-z", src, "r:b"}, "--empty-dirs does not work with rclone"},
		{[]string{"-o", out, "-f", "3", "--newline", src, "/d"}, "--newline is for list and template modes"},
		{[]string{"-o", out, "-f", "3", "--template", "cp {lst}", src}, "unknown placeholder {lst}"},
		{[]string{"-o", out, "-f", "3", "-m", "list", "--template", "cp {list}", src}, "cannot be combined with --mode=list"},
		{[]string{"-o", out, "-f", "3", "-x", "[", src, "/d"}, "exclude pattern"},
		{[]string{"-o", out, "-f", "3", filepath.Join(src, "a"), "/d"}, "not a directory"},
		{[]string{"-o", out, "-f", "3", filepath.Join(tmp, "nope"), "/d"}, "no such file"},
		{[]string{"-o", out, "-f", "3", src, "/d\nx"}, "newline"},
		{[]string{"-o", out, "-s", "1G", "--no-sizes", src, "/d"}, "needs file sizes"},
	} {
		code, stdout, stderr := partitionRun(t, nil, tc.args...)
		assert.Equal(t, exitUsage, code, "%q: %s", tc.args, stderr)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, tc.want, "%q", tc.args)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
	}
	_, err := os.Stat(out)
	assert.ErrorIs(t, err, os.ErrNotExist, "bad input writes nothing")
}

// TestPartitionCmdIncomplete: a name the list format cannot hold is
// reported on stderr (quoted, on one line), and the exit status is 1.
func TestPartitionCmdIncomplete(t *testing.T) {
	tmp, src := partitionTree(t)
	code, stdout, stderr := partitionRun(t, nil, "-o", filepath.Join(tmp, "o"), "-f", "100", "-m", "list", "--newline", src)
	assert.Equal(t, exitFailed, code)
	assert.Equal(t, 1, strings.Count(stdout, "\n"))
	assert.Contains(t, stderr, `skipped "`+src+`/f\ng": name cannot be listed`)
	assert.Contains(t, stderr, "1 skipped")
	assert.Contains(t, stderr, "listing incomplete")

	// Existing lists are never overwritten: a runtime failure, status 1.
	code, _, stderr = partitionRun(t, nil, "-o", filepath.Join(tmp, "o"), "-f", "100", "-m", "list", src)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "file exists")
}

func TestPartitionCmdInterrupted(t *testing.T) {
	tmp, src := partitionTree(t)
	drain := make(chan struct{})
	close(drain)
	code, _, stderr := partitionRun(t, drain, "-o", filepath.Join(tmp, "o"), "-f", "1", src, "/d")
	assert.Equal(t, exitInterrupted, code)
	assert.Contains(t, stderr, "interrupted")
}
