package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	in := "\xef\xbb\xbf# defaults\r\non-failure = keep\r\n\n  status=true  \n[sync]\nexclude = *.tmp\nexclude = \"  spaced\\t\"\ntemplate = rsync {list} # not a comment\n[ partition ]\nfiles=10"
	got, err := Parse("cfg", strings.NewReader(in))
	require.NoError(t, err)
	want := []Setting{
		{"cfg", 2, "", "on-failure", "keep"},
		{"cfg", 4, "", "status", "true"},
		{"cfg", 6, "sync", "exclude", "*.tmp"},
		{"cfg", 7, "sync", "exclude", "  spaced\t"},
		{"cfg", 8, "sync", "template", "rsync {list} # not a comment"},
		{"cfg", 10, "partition", "files", "10"},
	}
	require.Equal(t, want, got.Settings)
	require.Equal(t, []Section{{"sync", 5}, {"partition", 9}}, got.Sections)
	require.Equal(t, "cfg:2", got.Settings[0].Where())
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"status", `cfg:1: want key = value, got "status"`},
		{"a = 1\n--status = true", `cfg:2: bad key "--status": write the flag's long name without dashes`},
		{"Status = true", `cfg:1: bad key "Status"`},
		{" = x", `cfg:1: bad key ""`},
		{"[sync", `cfg:1: section header "[sync" has no closing ]`},
		{"[]", `cfg:1: bad section name ""`},
		{"[Sync]", `cfg:1: bad section name "Sync"`},
		{"a = \"open", `cfg:1: bad quoted value "open`},
		{"a = \"x\\x00\"", `cfg:1: quoted value "x\x00" holds a control character`},
		{"\n\na = \xff", "cfg:3: not UTF-8 text"},
		{"a = b\x00", `cfg:1: control character '\x00'`},
		{"a = " + strings.Repeat("x", maxLine+1), "cfg:1: line longer than 65536 bytes"},
	}
	for _, c := range cases {
		_, err := Parse("cfg", strings.NewReader(c.in))
		require.Error(t, err, "%q", c.in)
		require.Contains(t, err.Error(), c.want)
		var ce *Error
		require.True(t, errors.As(err, &ce))
		require.NotContains(t, err.Error(), "\n")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Equal(t, filepath.Join(dir, "missing")+": no such file or directory", err.Error())

	p := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(p, []byte("status = true\n"), 0o644))
	got, err := Load(p)
	require.NoError(t, err)
	require.Equal(t, &File{Path: p, Settings: []Setting{{p, 1, "", "status", "true"}}}, got)
}

// FuzzParse: any bytes give settings or one *Error naming a line of the
// input, never a panic; settings written back out (values quoted) parse to
// the same settings.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"on-failure = keep\n", "[sync]\nstatus=true\r\n", "# c\n\na = \"q\\\"x\"\n", "[x\n", "k = \xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Parse("f", strings.NewReader(string(in)))
		lines := strings.Count(string(in), "\n") + 1
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Line < 1 || ce.Line > lines || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q: want one line naming a line of the input", err)
			}
			return
		}
		var b strings.Builder
		section := ""
		for _, s := range got.Sections {
			if s.Line < 1 || s.Line > lines || !isName(s.Name) {
				t.Fatalf("bad section %+v", s)
			}
		}
		for _, s := range got.Settings {
			if s.Line < 1 || s.Line > lines || !isName(s.Key) {
				t.Fatalf("bad setting %+v", s)
			}
			if s.Section != section {
				fmt.Fprintf(&b, "[%s]\n", s.Section)
				section = s.Section
			}
			fmt.Fprintf(&b, "%s = %s\n", s.Key, strconv.Quote(s.Value))
		}
		again, err := Parse("f", strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("written back %q: %v", b.String(), err)
		}
		if len(again.Settings) != len(got.Settings) {
			t.Fatalf("written back: %d settings, want %d", len(again.Settings), len(got.Settings))
		}
		for i := range got.Settings {
			a, g := again.Settings[i], got.Settings[i]
			if a.Section != g.Section || a.Key != g.Key || a.Value != g.Value {
				t.Fatalf("written back: %+v, want %+v", a, g)
			}
		}
	})
}
