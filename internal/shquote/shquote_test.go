package shquote

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQuoteRoundTrip feeds each quoted word to a real sh and checks that it
// comes back byte for byte and executes nothing.
func TestQuoteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	words := []string{
		"", "plain", "a b", "a\tb", "a\nb", "a'b", `a"b`, "$(touch " + dir + "/pwned)", "`touch " + dir + "/pwned`",
		"-rf", "--", "*", "?", "~", "a;b", "a&b", "a|b", "$HOME", "\\", "!", "#x", "=x", "x=y", "'", "''", "\x01",
	}
	for _, w := range words {
		out, err := exec.Command("sh", "-c", "printf %s "+Quote(w)).Output()
		require.NoError(t, err, "word %q quoted as %s", w, Quote(w))
		require.Equal(t, w, string(out), "quoted as %s", Quote(w))
	}
	require.NoFileExists(t, dir+"/pwned")
}

func TestQuotePlainWordsUnchanged(t *testing.T) {
	require.Equal(t, "/src/dir-1/a.txt", Quote("/src/dir-1/a.txt"))
	require.Equal(t, "'a b'", Quote("a b"))
	require.Equal(t, `'a'\''b'`, Quote("a'b"))
}

// FuzzQuote: any bytes but NUL, quoted, come back unchanged from a real sh
// as one word, and run nothing.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "plain", "a b", "a'b", "'", "''", "\\", "$(id)", "`id`", "-n", "--", "=x", "~", "*", "\n", "\xff\xfe", "%s", "a=~b", "!", "#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("no shell word can carry a NUL")
		}
		out, err := exec.Command("sh", "-c", "printf %s "+Quote(s)).Output()
		require.NoError(t, err, "word %q quoted as %s", s, Quote(s))
		require.Equal(t, s, string(out), "quoted as %s", Quote(s))
	})
}
