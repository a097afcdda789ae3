package hostlist

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseSpecRefusesLocalWhereJobsCannotRun: where this machine cannot
// run jobs (Windows builds pass localOK false), ":" is refused with a
// one-line *SpecError wrapping ErrLocalUnsupported; other specs parse as
// before.
func TestParseSpecRefusesLocalWhereJobsCannotRun(t *testing.T) {
	for _, s := range []string{":", "  :  ", "4/:"} {
		_, err := parseSpec(s, false)
		se := asError[*SpecError](t, err)
		assert.ErrorIs(t, err, ErrLocalUnsupported)
		assert.NotContains(t, err.Error(), "\n")
		assert.Equal(t, `bad node spec "`+se.Spec+`": this machine (":") cannot run jobs on this operating system; list nodes reached over SSH`, err.Error())
	}
	sp, err := parseSpec("web1:2222", false)
	require.NoError(t, err)
	assert.Equal(t, Spec{Host: "web1", Port: 2222, Slots: 1}, sp)

	sp, err = parseSpec("4/:", true)
	require.NoError(t, err)
	assert.True(t, sp.Local())
	assert.Equal(t, localJobs, func() bool { _, err := ParseSpec(":"); return err == nil }())
}

func asError[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	require.Error(t, err)
	require.True(t, errors.As(err, &target), "want %T, got %T: %v", target, err, err)
	return target
}
