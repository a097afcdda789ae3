package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/mangen"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite generated files (docs/drove.1) from the code")

const manPath = "docs/drove.1"

// TestManPage fails when docs/drove.1 is not what the command line model
// gives today; go test -run TestManPage -update . rewrites it.
func TestManPage(t *testing.T) {
	page := renderManPage(t)
	if *update {
		require.NoError(t, os.WriteFile(manPath, page, 0o644))
		return
	}
	old, err := os.ReadFile(manPath)
	require.NoError(t, err)
	if !bytes.Equal(old, page) {
		t.Fatalf("%s is stale (the flags or help changed): regenerate it with\n\tgo test -run TestManPage -update .\nand commit it", manPath)
	}
}

func renderManPage(t *testing.T) []byte {
	t.Helper()
	var cli CLI
	parser, err := newParser(&cli)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, mangen.Write(&b, parser.Model, manual()))
	return b.Bytes()
}

// TestManPageRenders: groff formats the page without a warning, and what
// it prints holds every command and flag.
func TestManPageRenders(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff not installed (apt-get install groff-base): cannot check that the page renders")
	}
	src := filepath.Join(t.TempDir(), "drove.1")
	require.NoError(t, os.WriteFile(src, renderManPage(t), 0o644))

	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-rLL=80n", src)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	require.Empty(t, stderr.String(), "groff warnings")
	text := stripOverstrike(out.String())

	var cli CLI
	parser, err := newParser(&cli)
	require.NoError(t, err)
	for _, c := range parser.Model.Children {
		if c.Hidden {
			continue
		}
		require.Contains(t, text, "drove "+c.Name)
		for _, f := range c.Flags {
			if !f.Hidden {
				require.Contains(t, text, "--"+f.Name, "command %s", c.Name)
			}
		}
	}
	for _, s := range []string{"EXIT STATUS", "FILES", "ENVIRONMENT", "EXAMPLES", "SEE ALSO", "fpsync(1)", "/etc/drove/config"} {
		require.Contains(t, text, s)
	}
}

// stripOverstrike removes groff's bold and underline (x\bx, _\bx) and
// joins words hyphenated across lines are not a concern: -ww and roff \-
// keep flags whole.
func stripOverstrike(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i := 0; i < len(r); i++ {
		if i+1 < len(r) && r[i+1] == '\b' {
			continue
		}
		if r[i] == '\b' {
			continue
		}
		b.WriteRune(r[i])
	}
	return b.String()
}
