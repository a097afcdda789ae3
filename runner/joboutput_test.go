package runner

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
)

func TestJoinJobOutputs(t *testing.T) {
	var a, b bytes.Buffer
	var finished []string
	fa := func(jobs.Job, int, string) (io.Writer, io.Writer, func(error)) {
		return &a, nil, func(err error) { finished = append(finished, "a:"+err.Error()) }
	}
	fb := func(jobs.Job, int, string) (io.Writer, io.Writer, func(error)) {
		return &b, &b, nil
	}
	require.Nil(t, JoinJobOutputs(nil, nil))
	so, se, done := JoinJobOutputs(fa, fb)(jobs.Job{}, 1, "n")
	_, _ = so.Write([]byte("out"))
	_, _ = se.Write([]byte("err"))
	done(errors.New("x"))
	require.Equal(t, "out", a.String())
	require.Equal(t, "outerr", b.String())
	require.Equal(t, []string{"a:x"}, finished)
}
