package partition

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileWords are names that break naive quoting.
var hostileWords = []string{
	"$(touch pwned)", "`touch pwned`", "-rf", "a'b", `a"b`, "a b", "a\tb", "; touch pwned", "*", "~", "$HOME", `\`, "#x", "",
}

func TestJobGolden(t *testing.T) {
	p := Partition{Seq: 12, ListPath: "/shared/parts/part.000012", Files: 2048, Bytes: 123456789}
	hostile := Partition{Seq: 3, ListPath: "/shared/my parts/$(touch pwned)/part.000003", Files: 1, Bytes: 7}
	cases := []struct {
		name string
		job  Job
		part Partition
	}{
		{"rsync", Job{Mode: ModeRsync, Src: "/data/src", Dst: "/data/dst"}, p},
		{"rsync trailing slashes", Job{Mode: ModeRsync, Src: "/data/src/", Dst: "host:"}, p},
		{"rsync remote dst", Job{Mode: ModeRsync, Src: "/data/src", Dst: "backup@host:/vol/dst"}, p},
		{"rsync tool args", Job{Mode: ModeRsync, Src: "/s", Dst: "/d", ToolArgs: []string{"--bwlimit=50m", "-v", "--exclude=*.tmp", "a b"}}, p},
		{"rsync hostile", Job{Mode: ModeRsync, Src: "/src/$(touch pwned)/a'b", Dst: "-rf", ToolArgs: []string{"; touch pwned"}}, hostile},
		{"rclone", Job{Mode: ModeRclone, Src: "/data/src", Dst: "oci:bucket/prefix"}, p},
		{"rclone tool args", Job{Mode: ModeRclone, Src: "/data/src", Dst: "oci:bucket", ToolArgs: []string{"--transfers=64", "--links"}}, p},
		{"rclone hostile", Job{Mode: ModeRclone, Src: "-src `x`", Dst: `remote:"b"`}, hostile},
		{"list", Job{Mode: ModeList}, p},
		{"list hostile", Job{Mode: ModeList}, hostile},
		{"template", Job{Mode: ModeTemplate, Template: "tar -C {src} --null -T {list} -cf - | ssh host tar -C {dst} -xf - # {seq} {files} {bytes}", Src: "/s", Dst: "/d d"}, p},
		{"template hostile", Job{Mode: ModeTemplate, Template: "cp-tool {list} {src} {dst}", Src: "$(touch pwned)", Dst: "-rf"}, hostile},
	}
	var b strings.Builder
	for _, tc := range cases {
		line, err := tc.job.Format(tc.part)
		require.NoError(t, err, tc.name)
		fmt.Fprintf(&b, "# %s\n%s\n", tc.name, line)
	}
	golden(t, "jobs.golden", b.String())

	var q strings.Builder
	for _, w := range hostileWords {
		fmt.Fprintf(&q, "%q\t%s\n", w, Quote(w))
	}
	golden(t, "quote.golden", q.String())
}

// TestJobLinesExecuteNothing runs each job line in sh with fake rsync and
// rclone that record their arguments: every hostile word must arrive as
// exactly one argument, unchanged, and nothing may run.
func TestJobLinesExecuteNothing(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	record := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$ARGS_OUT\"\n"
	for _, tool := range []string{"rsync", "rclone", "cp-tool"} {
		require.NoError(t, os.WriteFile(filepath.Join(bin, tool), []byte(record), 0o755))
	}
	argsOut := filepath.Join(dir, "args")
	run := func(line string) []string {
		t.Helper()
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ARGS_OUT="+argsOut, "HOME=/nonexistent")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "line %s: %s", line, out)
		b, err := os.ReadFile(argsOut)
		require.NoError(t, err)
		return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	}
	for _, w := range hostileWords {
		if w == "" {
			continue
		}
		src := filepath.Join(dir, "src "+w)
		list := filepath.Join(dir, w, "part.000001")
		p := Partition{Seq: 1, ListPath: list}

		line, err := Job{Mode: ModeRsync, Src: src, Dst: w, ToolArgs: []string{w}}.Format(p)
		require.NoError(t, err)
		assert.Equal(t, []string{"-a", "--from0", "--files-from=" + list, w, src + "/", copytool.SafeLead(w) + "/"}, run(line), "line %s", line)

		line, err = Job{Mode: ModeRclone, Src: w, Dst: src, ToolArgs: []string{w}}.Format(p)
		require.NoError(t, err)
		assert.Equal(t, []string{"copy", "--files-from-raw", list, w, copytool.SafeLead(w), src}, run(line), "line %s", line)

		line, err = Job{Mode: ModeTemplate, Template: "cp-tool {list} {src} {dst}", Src: w, Dst: src}.Format(p)
		require.NoError(t, err)
		assert.Equal(t, []string{list, copytool.SafeLead(w), src}, run(line), "line %s", line)

		line, err = Job{Mode: ModeList}.Format(p)
		require.NoError(t, err)
		out, err := exec.Command("sh", "-c", "printf %s "+line).Output()
		require.NoError(t, err)
		assert.Equal(t, list, string(out))
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotEqual(t, "pwned", e.Name(), "a job line executed a name")
	}
}

func TestJobCheck(t *testing.T) {
	p := Partition{Seq: 1, ListPath: "/l/part.000001"}
	bad := []struct {
		job  Job
		want string
	}{
		{Job{Mode: ModeRsync, Src: "/s"}, "needs a destination"},
		{Job{Mode: ModeRclone, Src: "/s"}, "needs a destination"},
		{Job{Mode: ModeList, ToolArgs: []string{"-v"}}, "tool arguments"},
		{Job{Mode: ModeTemplate}, "needs a template"},
		{Job{Mode: ModeTemplate, Template: "x {lst}"}, "unknown placeholder {lst}"},
		{Job{Mode: ModeTemplate, Template: "x {dst}"}, "no destination"},
		{Job{Mode: ModeTemplate, Template: "x\ny {list}"}, "newline"},
		{Job{Mode: ModeRsync, Src: "/s\n", Dst: "/d"}, "newline"},
		{Job{Mode: ModeRsync, Src: "/s", Dst: "/d", ToolArgs: []string{"a\nb"}}, "newline"},
		{Job{Mode: Mode(9)}, "unknown mode"},
	}
	for _, tc := range bad {
		_, err := tc.job.Format(p)
		require.Error(t, err, "%+v", tc.job)
		assert.Contains(t, err.Error(), tc.want)
	}
	_, err := Job{Mode: ModeList}.Format(Partition{ListPath: "/a\nb"})
	require.ErrorIs(t, err, ErrMultiline)
	_, err = Job{Mode: ModeTemplate, Template: "echo ${HOME} {a,b} {list}"}.Format(p)
	require.NoError(t, err, "shell braces that are not placeholders pass through")

	for _, name := range []string{"rsync", "rclone", "list", "template"} {
		m, err := ParseMode(name)
		require.NoError(t, err)
		assert.Equal(t, name, m.String())
	}
	_, err = ParseMode("tar")
	require.Error(t, err)
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"1": 1, "4096": 4096, "10G": 10 << 30, "10g": 10 << 30, "10GiB": 10 << 30, "10GB": 10e9,
		"512MiB": 512 << 20, "512M": 512 << 20, "1k": 1024, "1KB": 1000, "1kb": 1000, "2T": 2 << 40,
		"1TB": 1e12, "1P": 1 << 50, "1.5G": 3 << 29, "0.5K": 512, " 7 MiB ": 7 << 20, "100B": 100,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "G", "0", "-1", "1X", "1.2.3G", "10 GiBs", "0.1", "9999999P", "1e3"} {
		_, err := ParseSize(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "512 B", FormatSize(512))
	assert.Equal(t, "1.5 GiB", FormatSize(3<<29))
	assert.Equal(t, "2.0 TiB", FormatSize(2<<40))
}

// TestQuoteRoundTrip checks Quote against a real sh, byte for byte.
func TestQuoteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	words := append([]string{"a\nb", "\x01\xff", "'", "''", "!x", "a=b"}, hostileWords...)
	for _, w := range words {
		cmd := exec.Command("sh", "-c", "printf %s "+Quote(w))
		cmd.Dir = dir
		out, err := cmd.Output()
		require.NoError(t, err, "%q quoted as %s", w, Quote(w))
		require.True(t, bytes.Equal([]byte(w), out), "%q quoted as %s came back as %q", w, Quote(w), out)
	}
	_, err := os.Stat(filepath.Join(dir, "pwned"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
