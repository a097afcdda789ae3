package mangen

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"
)

type testCLI struct {
	Go struct {
		Path string `arg:"" help:"Where."`
		Flag string `short:"f" placeholder:"FILE" help:".starts with a dot, has a \\ backslash, 'quotes' and a -dash."`
		Mode string `enum:"a,b" default:"a" help:"A mode."`
	} `cmd:"" default:"withargs" help:"Go somewhere."`
	Hidden struct{} `cmd:"" hidden:"" help:"Not shown."`
}

// Text that means something to roff (a leading dot or quote, a backslash)
// comes out of groff as written; hidden commands are left out.
func TestWriteEscapes(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff not installed (apt-get install groff-base)")
	}
	var cli testCLI
	p, err := kong.New(&cli, kong.Name("tool"))
	require.NoError(t, err)
	var page bytes.Buffer
	require.NoError(t, Write(&page, p.Model, Page{Section: 1, Source: "tool", Manual: "User Commands", Summary: "a tool",
		After: []Section{{Name: "Exit status", Body: "  0\tfine\n  1\t.not fine"}}}))
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-P-cbou", "-rLL=200n")
	cmd.Stdin = &page
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	require.Empty(t, stderr.String())
	text := out.String()
	for _, want := range []string{
		".starts with a dot, has a \\ backslash, 'quotes' and a -dash.",
		"-f, --flag=FILE", "--mode=a|b", "tool [go] [flags] <path>", "tool go (the default command)", ".not fine", "EXIT STATUS",
	} {
		require.Contains(t, text, want)
	}
	require.False(t, strings.Contains(text, "hidden"), text)
}
