package syncer

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// TestDaemonServesHostileSrcNames: SRC is a value in rsync's daemon
// configuration and a word in the job's command: names that configuration
// files and shells give a meaning to are copied as they are, and a
// %NAME% that rsync would replace by an environment variable that is set
// (HOME) is not.
func TestDaemonServesHostileSrcNames(t *testing.T) {
	testkit.Slow(t)
	needTool(t, "rsync")
	if runtime.GOOS == "windows" {
		t.Skip("no rsync daemon over sh")
	}
	t.Setenv("DROVE_SET_VAR", "/")
	t.Setenv("Odd name", "/") // sh cannot unset it, and bash passes it on
	for _, name := range []string{
		"sp ace", "trailing space ", "it's", `"dq"`, `back\slash`, `ends\`, "#hash", ";semi", "[module]", "a = b",
		"%HOME%", "x%DROVE_SET_VAR%y%HOME", "%%PATH%%", "%Odd name%", "$(touch pwned)", "-dash", "ünï", "tab\there",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, name), filepath.Join(dir, "dst")
			require.NoError(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(src, "sub", "f"), []byte(name), 0o644))
			res, err := Run(context.Background(), Options{
				Src: src, Dst: dst, Work: filepath.Join(dir, "work"), Tool: copytool.Rsync,
				MaxFiles: 1, FinalPass: true, Nodes: localNodes(1),
			})
			require.NoError(t, err)
			require.True(t, res.OK(), "failed %+v final %v crawl %v %v", res.Failed, res.FinalErr, res.CrawlComplete, res.CrawlErr)
			b, err := os.ReadFile(filepath.Join(dst, "sub", "f"))
			require.NoError(t, err)
			require.Equal(t, name, string(b))
			_, err = os.Stat(filepath.Join(dir, "work", "pwned"))
			require.True(t, os.IsNotExist(err), "a name ran as a command")
		})
	}
}

// TestEnvRefs: what rsync's configuration reader could replace in SRC.
func TestEnvRefs(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{"/plain", nil},
		{"/a/%HOME%/b", []string{"HOME"}},
		{"/%A%B%", []string{"A", "B"}},
		{"/%a%", nil}, // lower case: never replaced
		{"/%HOME", nil},
		{"/%X1%%Y_2%", []string{"X1", "Y_2"}},
		{"/%Two words%/%A-B%", []string{"Two words", "A-B"}},
		{"/%A=B%", nil}, // cannot be set
		{"/%HOME%HOME%", []string{"HOME"}},
	} {
		require.Equal(t, tc.want, envRefs(tc.src), tc.src)
	}
}

// expandLikeRsync is rsync 3.5.0's expand_vars (loadparm.c) for a plain
// parameter: left to right, a "%" followed by an upper-case letter and a
// later "%" is replaced by the variable between them if it is set;
// anything else is copied as it is.
func expandLikeRsync(s string, lookup func(string) (string, bool)) string {
	var b []byte
	for i := 0; i < len(s); {
		if s[i] == '%' && i+1 < len(s) && s[i+1] >= 'A' && s[i+1] <= 'Z' {
			if j := indexFrom(s, i+1, '%'); j >= 0 {
				if v, ok := lookup(s[i+1 : j]); ok {
					b = append(b, v...)
					i = j + 1
					continue
				}
			}
		}
		b = append(b, s[i])
		i++
	}
	return string(b)
}

func indexFrom(s string, from int, c byte) int {
	for k := from; k < len(s); k++ {
		if s[k] == c {
			return k
		}
	}
	return -1
}

// FuzzEnvRefs: with every variable set but those envRefs names (and
// names that cannot be set), rsync's reader leaves SRC as it is.
func FuzzEnvRefs(f *testing.F) {
	for _, s := range []string{"/a/%HOME%/b", "/%A%B%", "%%PATH%%", "/%X%Y%Z", "%A=B%C%", "/plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		unset := map[string]bool{}
		for _, n := range envRefs(s) {
			unset[n] = true
		}
		got := expandLikeRsync(s, func(name string) (string, bool) {
			if unset[name] || strings.Contains(name, "=") {
				return "", false
			}
			return "<" + name + ">", true
		})
		if got != s {
			t.Fatalf("rsync would read %q as %q (unset: %v)", s, got, envRefs(s))
		}
	})
}

// TestFollowsLinksIsNotConfined: an rclone asked to follow symbolic links
// (copytool.FollowsLinks) is run as it is; any other is confined.
func TestFollowsLinksIsNotConfined(t *testing.T) {
	o := Options{Src: "/s", Dst: "/d", Work: "/w", Tool: copytool.Rclone, ToolArgs: []string{"-L"}}
	require.Contains(t, o.finalCommand(""), " rclone ")
	require.NotContains(t, o.finalCommand(""), " rclone-confined ")
	o.ToolArgs = nil
	require.Contains(t, o.finalCommand(""), " rclone-confined ")
}
