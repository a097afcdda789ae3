package runner

import (
	"context"
	"io"
)

// Run refuses: running a job on this machine needs a POSIX system. It
// returns a *NodeError wrapping ErrLocalUnsupported.
func (l *Local) Run(context.Context, string, io.Writer, io.Writer) error {
	return &NodeError{Node: ":", Err: ErrLocalUnsupported}
}
