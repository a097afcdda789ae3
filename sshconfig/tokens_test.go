package sshconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpandTokens(t *testing.T) {
	tok := map[byte]string{'h': "H", 'p': "22"}
	got, err := ExpandTokens("a%h-%p%%b", tok)
	require.NoError(t, err)
	assert.Equal(t, "aH-22%b", got)
	_, err = ExpandTokens("%z", tok)
	assert.EqualError(t, err, `unknown token %z in "%z"`)
	_, err = ExpandTokens("x%", tok)
	assert.EqualError(t, err, `trailing % in "x%"`)
	assert.Equal(t, "/h", ExpandTilde("~", "/h"))
	assert.Equal(t, "/h/x", ExpandTilde("~/x", "/h"))
	assert.Equal(t, "~bob/x", ExpandTilde("~bob/x", "/h"))
	assert.Equal(t, "~/.ssh/id", AbbrevHome("/h/.ssh/id", "/h"))
	assert.Equal(t, "/other", AbbrevHome("/other", "/h"))
}
