package sshconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitConfigArgs(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`"/a b"  /c ""`, []string{"/a b", "/c", ""}},
		{"\t~/x ", []string{"~/x"}},
		{"  ", nil},
		{`a # comment`, []string{"a"}},
		{`a#b 'c d' e\ f "g\"h"`, []string{"a#b", "c d", "e f", `g"h`}},
	} {
		got, err := SplitArgs(c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, got, c.in)
	}
	_, err := SplitArgs(`"open`)
	assert.Error(t, err)
}
