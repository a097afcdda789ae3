package termview

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"echo hello":            "echo hello",
		"printf 'a\tb'":         "printf 'a\tb'",
		"echo é":                "echo é",
		"echo a\x00b":           `"echo a\x00b"`,
		"echo a\nrm -rf x":      `"echo a\nrm -rf x"`,
		"echo \x1b]0;pwned\x07": `"echo \x1b]0;pwned\a"`,
		"bad \xff utf8":         `"bad \xff utf8"`,
	} {
		require.Equal(t, want, printable(in), "%q", in)
	}
}
