package gateway

import "fmt"

// LostError is a gateway given up: its session ended, it went silent past
// the heartbeat's window, or its SSH connection's keepalives went
// unanswered (Err says which). Every wait on the gateway ends with it:
// its Client's Err, a Stream's reads and writes, a node's connect. A
// caller tells the loss of the way to a node from the node's own failure
// with errors.As, never by the text.
type LostError struct {
	Gateway string // the gateway's name, as the controller named it
	Err     error
}

func (e *LostError) Error() string { return fmt.Sprintf("gateway %s lost: %v", e.Gateway, e.Err) }

func (e *LostError) Unwrap() error { return e.Err }
