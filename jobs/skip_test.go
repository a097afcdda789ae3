package jobs

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSkip(t *testing.T) {
	var skipped []string
	s := Skip(Concat(&Strings{Cmds: []string{"a", "b", "c"}}), func(j Job) bool { return j.Cmd == "b" }, func(j Job) { skipped = append(skipped, j.Cmd) })
	got, err := readAll(t, s)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "c", got[1].Cmd)
	require.Equal(t, 3, got[1].Seq)
	require.Equal(t, []string{"b"}, skipped)
}
