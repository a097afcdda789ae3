package runner

import (
	"errors"
	"fmt"
)

// Describe is an attempt's error as a short phrase for a line that already
// names the node: "exited with status 3", "was killed by signal TERM",
// "timed out after 5s and was killed", or the cause of a node failure.
// A nil error is "succeeded".
//
// An error that knows how to say itself without its node's name (a method
// Reason() string, as the nodes package's errors have) is asked to.
func Describe(node string, err error) string {
	var te *TimeoutError
	var ee *ExitError
	var r interface{ Reason() string }
	switch {
	case err == nil:
		return "succeeded"
	case errors.As(err, &te):
		return te.Error()
	case errors.As(err, &ee):
		if ee.Signal != "" {
			return "was killed by signal " + ee.Signal
		}
		if ee.Status < 0 {
			return "ended without an exit status"
		}
		return fmt.Sprintf("exited with status %d", ee.Status)
	case errors.As(err, &r):
		return r.Reason()
	}
	var ne *NodeError
	if errors.As(err, &ne) && ne.Node == node {
		return ne.Err.Error()
	}
	return err.Error()
}
