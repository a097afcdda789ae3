package randhex

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestString: n bytes are 2n lower-case hex digits, and two strings differ.
func TestString(t *testing.T) {
	for _, n := range []int{0, 1, 8, 12, 16} {
		s := String(n)
		require.Regexp(t, regexp.MustCompile(`^[0-9a-f]*$`), s)
		require.Len(t, s, 2*n)
		if n >= 8 {
			require.NotEqual(t, s, String(n), "two draws of %d bytes", n)
		}
	}
}
