package copytool

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tool := range []Tool{Rsync, Rclone} {
		got, err := Parse(tool.String())
		require.NoError(t, err)
		require.Equal(t, tool, got)
		require.True(t, got.Valid())
	}
	for _, bad := range []string{"", "list", "template", "RSYNC", "rsync "} {
		_, err := Parse(bad)
		var u *ErrUnknownTool
		require.True(t, errors.As(err, &u), "%q: %v", bad, err)
		require.Equal(t, bad, u.Name)
	}
	require.False(t, Tool(2).Valid())
	require.Equal(t, "tool(2)", Tool(2).String())
}

// words returns the words sh makes of line.
func words(t testing.TB, line string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", `printf '%s\0' `+line).Output()
	require.NoError(t, err, "%s", line)
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// TestCommandLine: sh reads each line back as the tool's argv, every path
// and argument one word, as given.
func TestCommandLine(t *testing.T) {
	hostile := "-a b'c\"$(touch x)`;*"
	for _, tc := range []struct {
		c    Command
		want []string
	}{
		{Command{List: "/l st", Args: []string{"-H"}, Src: "/s", Dst: "/d"},
			[]string{"rsync", "-a", "--from0", "--files-from=/l st", "-H", "/s/", "/d/"}},
		{Command{List: "/l", Src: hostile, Dst: "host:"},
			[]string{"rsync", "-a", "--from0", "--files-from=/l", "./" + hostile + "/", "host:"}},
		{Command{Delete: true, TempDir: ".t", ExcludeTempDir: true, Excludes: []string{"*.o", "a/b/"}, Src: "/s/", Dst: "/d"},
			[]string{"rsync", "-a", "--delete", "--force", "--exclude=/.t/", "--temp-dir=.t", "--exclude=*.o", "--exclude=/a/b", "/s/", "/d/"}},
		{Command{Force: true, Source: `"drove::$x/"`, Dst: "/d"},
			[]string{"rsync", "-a", "--force", "drove::$x/", "/d/"}},
		{Command{Tool: Rclone, List: "/l", Args: []string{hostile}, Src: hostile, Dst: "r:b"},
			[]string{"rclone", "copy", "--files-from-raw", "/l", hostile, "./" + hostile, "r:b"}},
		{Command{Tool: Rclone, Delete: true, EmptyDirs: true, Excludes: []string{"x"}, Src: "/s", Dst: "/d"},
			[]string{"rclone", "sync", "--create-empty-src-dirs", "--exclude", "x", "--exclude", "x/**", "/s", "/d"}},
	} {
		line := tc.c.Line()
		if tc.c.Source != "" {
			line = strings.ReplaceAll(line, tc.c.Source, `'`+strings.Trim(tc.c.Source, `"`)+`'`)
		}
		require.Equal(t, tc.want, words(t, line), "%s", tc.c.Line())
	}
}

func FuzzCommandLine(f *testing.F) {
	f.Add("/s", "/d", "-v", "/l")
	f.Add("-s'", "d$(x)", "a b", "`l`")
	f.Fuzz(func(t *testing.T, src, dst, arg, list string) {
		for _, s := range []string{src, dst, arg, list} {
			if s == "" || strings.ContainsAny(s, "\x00\n\r") {
				t.Skip()
			}
		}
		for _, tool := range []Tool{Rsync, Rclone} {
			w := words(t, Command{Tool: tool, List: list, Args: []string{arg}, Src: src, Dst: dst}.Line())
			n := len(w)
			require.Equal(t, arg, w[n-3])
			if tool == Rsync {
				require.Equal(t, []string{DirArg(src), DirArg(dst)}, w[n-2:])
				require.Equal(t, "--files-from="+list, w[3])
			} else {
				require.Equal(t, []string{SafeLead(src), SafeLead(dst)}, w[n-2:])
				require.Equal(t, list, w[3])
			}
		}
	})
}

func TestParseRsync(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Message
	}{
		{`rsync: [sender] link_stat "/s/a b" failed: No such file or directory (2)`, Message{Kind: Gone, Path: "/s/a b"}},
		{`rsync: [sender] link_stat "a/f" (in root) failed: Datei nicht gefunden (2)`, Message{Kind: Gone, Path: "a/f", InModule: true}},
		{`rsync: [sender] change_dir "d" (in user) failed: Not a directory (20)`, Message{Kind: Gone, Path: "d", InModule: true}},
		{`rsync: [sender] send_files failed to open "f" (in root): Permission denied (13)`, Message{Kind: Error}},
		{`rsync: [sender] link_stat "a/f" (in other) failed: No such file or directory (2)`, Message{Kind: Error}},
		{`file has vanished: "x/y" (in root)`, Message{Kind: Vanished, Path: "x/y", InModule: true}},
		{`rsync error: some files/attrs were not transferred (see previous errors) (code 23)`, Message{Kind: Summary}},
		{`rsync: [Receiver] write error: Broken pipe (32)`, Message{Kind: Teardown}},
		{`IO error encountered -- skipping file deletion`, Message{Kind: Error}},
		{`sent 1 bytes  received 2 bytes`, Message{Kind: Other}},
	} {
		require.Equal(t, tc.want, ParseRsync(tc.line), tc.line)
	}
	require.Equal(t, "a\nb", Unescape(`a\#012b`))
	require.Equal(t, `a\#9zz`, Unescape(`a\#9zz`))
}
