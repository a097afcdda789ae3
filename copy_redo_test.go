package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/drove-dev/drove/gateway"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// A node's copy is redone for its gateway's loss (a *gateway.LostError,
// however wrapped), each gateway once: not for the node's own end, nor
// for an error that only says a gateway was lost in its text; the redo is
// said once its next stream is open, naming the node, the lost gateway
// and the route, and not when no route is left (the failure says so).
func TestCopyRedoneForItsGatewaysLoss(t *testing.T) {
	var stderr testkit.Buffer
	c := &copyRedo{name: "node3", stderr: &stderr}
	gw1 := &gateway.LostError{Gateway: "gw1", Err: errors.New("its session ended")}
	gw2 := &gateway.LostError{Gateway: "gw2", Err: errors.New("the gateway said nothing for 20s")}

	require.False(t, c.redo(io.EOF), "the node's own end")
	require.False(t, c.redo(errors.New("gateway gw1 lost: its session ended")), "text is not a loss")
	require.True(t, c.redo(fmt.Errorf("connection lost: %w", gw1)))
	near, far := net.Pipe()
	defer near.Close()
	defer far.Close()
	c.opened(near, nil)
	require.Equal(t, "drove: copy: node3: gateway gw1 lost: its session ended: copying again directly\n", stderr.String())
	c.opened(near, nil)
	require.Equal(t, "drove: copy: node3: gateway gw1 lost: its session ended: copying again directly\n", stderr.String(), "said once")
	require.False(t, c.redo(gw1), "gw1 again: never loops")
	require.True(t, c.redo(gw2))
	c.opened(nil, errors.New("no gateway left (...)"))
	require.Equal(t, "drove: copy: node3: gateway gw1 lost: its session ended: copying again directly\n", stderr.String(),
		"a redo that cannot open says nothing of a route")
	require.False(t, c.redo(gw2))
}
