package runner

import (
	"io"

	"github.com/drove-dev/drove/jobs"
)

// JobOutputFunc is the type of Config.JobOutput.
type JobOutputFunc = func(job jobs.Job, attempt int, node string) (stdout, stderr io.Writer, finish func(error))

// JoinJobOutputs gives each attempt's output to both a and b, and calls
// both finish functions; either may be nil, and so may any writer or
// finish function they return.
func JoinJobOutputs(a, b JobOutputFunc) JobOutputFunc {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(j jobs.Job, attempt int, node string) (io.Writer, io.Writer, func(error)) {
		ao, ae, af := a(j, attempt, node)
		bo, be, bf := b(j, attempt, node)
		return both(ao, bo), both(ae, be), func(err error) {
			if af != nil {
				af(err)
			}
			if bf != nil {
				bf(err)
			}
		}
	}
}

func both(a, b io.Writer) io.Writer {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return io.MultiWriter(a, b)
}
