package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// failingNode is a node's stream on the gateway whose reads fail with err
// at once (io.EOF: it ended cleanly), as a stream through a gateway
// further down fails when that gateway is lost.
type failingNode struct{ err error }

func (f failingNode) Read([]byte) (int, error)    { return 0, f.err }
func (f failingNode) Write(p []byte) (int, error) { return len(p), nil }
func (f failingNode) Close() error                { return nil }

// A stream's reads and writes end with a *LostError naming the gateway
// when it dies; and with one naming a gateway further down when that one
// is lost under the stream (the gateway relays the loss as a loss, with
// its text); a node's own end stays io.EOF or its error's text.
func TestStreamLossIsTyped(t *testing.T) {
	below := &LostError{Gateway: "gw2", Err: errors.New("its session ended")}
	ends := map[string]error{"below": below, "eof": io.EOF, "own": errors.New("the node said no")}
	g := newStreamGW(t, func(ctx context.Context, spec string, route [][]string, subsystem string, opts Options) (io.ReadWriteCloser, error) {
		return failingNode{err: ends[spec]}, nil
	})
	read := func(spec string) error {
		s, err := g.cl.OpenStream(context.Background(), spec, spec, nil, "sftp")
		require.NoError(t, err)
		defer s.Close()
		_, err = io.ReadAll(s)
		if err == nil {
			err = io.EOF
		}
		return err
	}
	err := read("below")
	le, ok := errors.AsType[*LostError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, "gw2", le.Gateway)
	require.EqualError(t, err, "gateway gw2 lost: its session ended")
	require.ErrorIs(t, read("eof"), io.EOF)
	err = read("own")
	require.EqualError(t, err, "the node said no")
	_, ok = errors.AsType[*LostError](err)
	require.False(t, ok)

	// This gateway dies under a stream.
	f := &fakeNodes{nodes: map[string]func(net.Conn){"waits": func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }}}
	g = newStreamGW(t, f.open)
	s, err := g.cl.OpenStream(context.Background(), "waits", "waits", nil, "sftp")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 1)); done <- err }()
	g.cut()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a read did not end when its gateway died")
	}
	le, ok = errors.AsType[*LostError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, "gw1", le.Gateway)
	_, err = s.Write([]byte("x"))
	le, ok = errors.AsType[*LostError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, "gw1", le.Gateway)
}

// A topology's two levels in this process: gw1 relays its streams through
// gw2, which opens them on the node. gw2 lost under a stream ends the
// controller's reads with a *LostError naming gw2 (not gw1, which lives
// on and carries the next stream).
func TestStreamLostFurtherDown(t *testing.T) {
	f := &fakeNodes{nodes: map[string]func(net.Conn){"waits": func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }}}
	gw2 := newNamedStreamGW(t, "gw2", f.open)
	gw1 := newStreamGW(t, func(ctx context.Context, spec string, route [][]string, subsystem string, opts Options) (io.ReadWriteCloser, error) {
		return gw2.cl.OpenStream(ctx, spec, spec, nil, subsystem)
	})
	s, err := gw1.cl.OpenStream(context.Background(), "waits", "waits", [][]string{{"gw2"}}, "sftp")
	require.NoError(t, err)
	defer s.Close()
	done := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 1)); done <- err }()
	gw2.cut()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a read did not end when the gateway further down died")
	}
	le, ok := errors.AsType[*LostError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, "gw2", le.Gateway)
	require.EqualError(t, err, gw2.cl.Err().Error(), "gw2's own loss, word for word")
	select {
	case <-gw1.cl.Done():
		t.Fatal("gw1 was lost with gw2")
	default:
	}
}

// A send that fails on the gateway's session (the controller's side of it
// broken before the gateway's end is read) ends the stream's writes with
// the gateway's loss too, typed: the conversation is over.
func TestStreamSendFailureIsTheGatewaysLoss(t *testing.T) {
	f := &fakeNodes{nodes: map[string]func(net.Conn){"waits": func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }}}
	g := newStreamGW(t, f.open)
	s, err := g.cl.OpenStream(context.Background(), "waits", "waits", nil, "sftp")
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, g.cl.closer.Close()) // the controller's writes to the gateway fail from now on
	_, err = s.Write(make([]byte, 64<<10))
	le, ok := errors.AsType[*LostError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, "gw1", le.Gateway)
	_, err = s.Read(make([]byte, 1))
	le, ok = errors.AsType[*LostError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, "gw1", le.Gateway)

	// Nor can a stream be asked for: the gateway's loss, not the node's.
	g = newStreamGW(t, f.open)
	require.NoError(t, g.cl.closer.Close())
	_, err = g.cl.OpenStream(context.Background(), "waits", "waits", nil, "sftp")
	le, ok = errors.AsType[*LostError](err)
	require.True(t, ok, "%T %v", err, err)
	require.Equal(t, "gw1", le.Gateway)
}
