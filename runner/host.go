// Package runner runs jobs across nodes: a pool of node slots, a scheduler
// that owns all run state in one goroutine, eviction and requeueing of failed
// work, line-atomic output, and events that the caller renders.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Host runs commands on one node. Run is called concurrently, once per busy
// slot. It returns nil when the command exits 0, an *ExitError when the
// command itself failed (its exit status or signal), and a *NodeError when
// the node could not run it or stopped answering. When ctx is cancelled
// Run kills the command on the node (and everything it started) and returns
// ctx's error once it is gone or a grace period has passed.
type Host interface {
	Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error
	Close() error
}

// ExitError is a job's own failure: a non-zero exit status, or death by a
// signal. It says nothing about the node's health.
type ExitError struct {
	Status int    // exit status; for a signal, 128+n when known, else -1
	Signal string // signal name without "SIG" ("TERM", "KILL"), "" when it exited
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return "killed by signal " + e.Signal
	}
	return fmt.Sprintf("exit status %d", e.Status)
}

// NodeError is a failure of the node or the connection to it, not of the
// job: the job is requeued and the node evicted.
type NodeError struct {
	Node string
	Err  error
}

func (e *NodeError) Error() string { return fmt.Sprintf("node %s: %v", e.Node, e.Err) }
func (e *NodeError) Unwrap() error { return e.Err }

// TimeoutError is a job that ran longer than --timeout and was killed.
type TimeoutError struct{ After time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s and was killed", e.After)
}

// ErrKilled is the error of an attempt killed because the run was
// interrupted (its context cancelled): not the job's failure nor the node's.
var ErrKilled = errors.New("killed: run interrupted")

// ErrJobUnstartable is what every *UnstartableError matches with errors.Is:
// a job no node could start (a NUL byte in its text, a text too long for a
// shell's command). It fails on its own, at once, and no node is blamed.
var ErrJobUnstartable = errors.New("job cannot be started")

// UnstartableError is a job that cannot be started on any node, and why.
type UnstartableError struct{ Reason string }

func (e *UnstartableError) Error() string { return "cannot be started: " + e.Reason }

// Is makes errors.Is(err, ErrJobUnstartable) true.
func (e *UnstartableError) Is(target error) bool { return target == ErrJobUnstartable }
