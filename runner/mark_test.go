package runner

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestJobMarkIsSixteenHexDigits: a job's mark, where its command names it,
// is 16 lower-case hex digits, the same in both places and fresh for each
// job, so a job's command is as long as watcherHeadLen says whatever its
// mark.
func TestJobMarkIsSixteenHexDigits(t *testing.T) {
	re := regexp.MustCompile(markVar + `=([^;' ]*)`)
	marks := map[string]bool{}
	for range 4 {
		ms := re.FindAllStringSubmatch(RemoteCommand("true", 2), -1)
		require.Len(t, ms, 2)
		require.Regexp(t, `^[0-9a-f]{16}$`, ms[0][1])
		require.Equal(t, ms[0][1], ms[1][1])
		marks[ms[0][1]] = true
	}
	require.Len(t, marks, 4, "a mark repeated")
	for _, g := range []int{0, 2, 30} {
		require.Equal(t, watcherHeadLen(g), len(watcherHead(g, newMark())))
	}
}
