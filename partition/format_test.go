package partition

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRclonePath(t *testing.T) {
	cases := map[string]string{
		"plain/file.txt":      "plain/file.txt",
		" lead/trail ":        " lead/trail ",
		"#hash/;semi":         "#hash/;semi",
		"tab\there":           "tab\u2409here",
		"new\nline/x\ry":      "new\u240Aline/x\u240Dy",
		"del\x7f":             "del\u2421",
		"\x01\x1f":            "\u2401\u241F",
		"sym\u2409bol":        "sym\u201B\u2409bol",
		"sym\u2421":           "sym\u201B\u2421",
		"nul\u2400":           "nul\u2400",       // decodes to NUL, which encodes back to U+2400
		"full\uFF0Fslash":     "full\uFF0Fslash", // decodes to '/', re-encodes to U+FF0F
		"\uFF0E/\uFF0E\uFF0E": "\uFF0E/\uFF0E\uFF0E",
		"\xff\xfe bad":        "\xff\xfe bad",
		"ünïcödé €":           "ünïcödé €",
	}
	for in, want := range cases {
		assert.Equal(t, want, RclonePath(in), "%q", in)
	}
}

// goldenTree is a fixed tree with awkward names, for the list goldens.
func goldenTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for i, n := range []string{"a", "b b", "#c", ";d", "-e", "f\ng", "h\ti", "sub/j", "sub/#k", "sub/deeper/l", "$(m)", "n'o", "big"} {
		p := filepath.Join(root, n)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(strings.Repeat("x", (i+1)*10)), 0o644))
	}
	require.NoError(t, os.Truncate(filepath.Join(root, "big"), 1000))
	require.NoError(t, os.Symlink("a", filepath.Join(root, "link")))
	for _, d := range []string{"empty", "sub/empty dir", "only/empty"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	return root
}

// TestListsGolden pins the list contents for each format and packing mode.
func TestListsGolden(t *testing.T) {
	root := goldenTree(t)
	var b strings.Builder
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"nul sorted -f 4 -z", Options{MaxFiles: 4, EmptyDirs: true, Sort: true}},
		{"rsync sorted -s 100", Options{MaxBytes: 100, Sort: true, Format: ListRsync}},
		{"rclone sorted -f 5", Options{MaxFiles: 5, Sort: true, Format: ListRclone}},
		{"lines sorted -f 5", Options{MaxFiles: 5, Sort: true, Format: ListLines}},
		{"rsync -n 3 -z", Options{Parts: 3, EmptyDirs: true, Format: ListRsync}},
	} {
		opts := tc.opts
		opts.Src, opts.OutDir = root, t.TempDir()
		parts, sum, err := runAll(t, opts)
		require.NoError(t, err)
		fmt.Fprintf(&b, "## %s: files=%d bytes=%d parts=%d skipped=%d\n", tc.name, sum.Files, sum.Bytes, sum.Parts, sum.Skipped)
		b.WriteString(renderLists(t, parts, opts.Format.sep()))
	}
	golden(t, "lists.golden", b.String())
}
