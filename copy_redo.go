package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/drove-dev/drove/filecopy"
	"github.com/drove-dev/drove/gateway"
)

// copyRedo is one node's copy through gateways redone through its next
// route when the gateway its stream went through is lost mid-copy
// (filecopy.Node.Redo): the node takes its next gateway, or for
// --gateway, when none is left, goes directly, as its jobs would. The
// node's own failure (its stream's end through a gateway that lives) is
// not redone. Each gateway is lost at most once per node, and a lost
// gateway is never taken again in the run, so a node's copy is redone at
// most once per gateway of its route: nothing loops.
type copyRedo struct {
	name   string
	stderr io.Writer

	mu     sync.Mutex
	lost   []string // the gateways lost under the node's copies, in order
	report error    // the loss to name once the next stream is open
}

// routeRedo makes n's copy redone through its next route when its
// gateway is lost mid-copy (n.Open is a stream through the gateways),
// saying so on stderr.
func routeRedo(n *filecopy.Node, stderr io.Writer) {
	c := &copyRedo{name: n.Name, stderr: stderr}
	open := n.Open
	n.Redo = c.redo
	n.Open = func(ctx context.Context) (io.ReadWriteCloser, error) {
		s, err := open(ctx)
		c.opened(s, err)
		return s, err
	}
}

// redo reports whether err, why the node's stream broke, is its
// gateway's loss, the first of that gateway for this node.
func (c *copyRedo) redo(err error) bool {
	le, ok := errors.AsType[*gateway.LostError](err)
	if !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Contains(c.lost, le.Gateway) {
		return false
	}
	c.lost = append(c.lost, le.Gateway)
	c.report = le
	return true
}

// opened says, after a redo's stream opened, the lost gateway and the
// route the node's copy takes now. A redo that cannot open a stream says
// nothing here: its failure names every route's reason.
func (c *copyRedo) opened(s io.ReadWriteCloser, err error) {
	c.mu.Lock()
	lost := c.report
	c.report = nil
	c.mu.Unlock()
	if lost == nil || err != nil {
		return
	}
	via := "directly"
	if gs, ok := s.(*gateway.Stream); ok {
		via = "through gateway " + gs.Gateway()
	}
	fmt.Fprintf(c.stderr, "drove: copy: %s: %v: copying again %s\n", c.name, lost, via)
}
