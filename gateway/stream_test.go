package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/runner"
	"github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
)

// fakeNodes is an Opener whose nodes are in this process: each stream's
// node side is the far end of a net.Pipe (synchronous: a node that does
// not read makes the gateway's writes to it wait), handed to the node's
// function, which the test writes.
type fakeNodes struct {
	mu     sync.Mutex
	nodes  map[string]func(net.Conn)  // by spec
	closed map[string]<-chan struct{} // by spec: closed when the gateway closed the node's latest stream
	subs   []string                   // the subsystems asked for
}

func (f *fakeNodes) open(ctx context.Context, spec string, route [][]string, subsystem string, opts Options) (io.ReadWriteCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, subsystem)
	serve := f.nodes[spec]
	if serve == nil {
		return nil, fmt.Errorf("no such node %q", spec)
	}
	gwSide, nodeSide := net.Pipe()
	go serve(nodeSide)
	ch := make(chan struct{})
	if f.closed == nil {
		f.closed = map[string]<-chan struct{}{}
	}
	f.closed[spec] = ch
	return &notifyConn{Conn: gwSide, closed: ch}, nil
}

// closedCh is closed when the gateway closes spec's latest stream.
func (f *fakeNodes) closedCh(spec string) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed[spec]
}

// notifyConn closes closed when it is closed.
type notifyConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *notifyConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// streamGW is a gateway serving streams over pipes, and its Client.
type streamGW struct {
	cl     *Client
	cut    func() // the gateway dies: its output ends
	served chan error
}

func newStreamGW(t *testing.T, open Opener) *streamGW {
	t.Helper()
	return newNamedStreamGW(t, "gw1", open)
}

// newNamedStreamGW is newStreamGW for a gateway called name.
func newNamedStreamGW(t *testing.T, name string, open Opener) *streamGW {
	t.Helper()
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	g := &streamGW{served: make(chan error, 1)}
	connect := func(ctx context.Context, spec string, route [][]string, opts Options) (runner.Host, error) {
		return &runner.Local{Grace: time.Second}, nil
	}
	go func() {
		err := ServeStreams(context.Background(), gwIn, gwOut, connect, open)
		_ = gwOut.Close()
		g.served <- err
	}()
	cl, err := NewClient(name, fromGW, toGW, Options{Grace: int64(time.Second)})
	require.NoError(t, err)
	cl.closer = closerFunc(func() error { return toGW.Close() })
	g.cl = cl
	g.cut = func() { _ = gwOut.CloseWithError(errors.New("killed")); _ = toGW.Close() }
	t.Cleanup(func() { _ = toGW.Close(); _ = fromGW.Close() })
	return g
}

func echo(c net.Conn) { _, _ = io.Copy(c, c); _ = c.Close() }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// exchange writes data to s while reading back as much, and returns what
// was read.
func exchange(t *testing.T, s io.ReadWriter, data []byte) []byte {
	t.Helper()
	wrote, read := make(chan error, 1), make(chan error, 1)
	go func() { _, err := s.Write(data); wrote <- err }()
	got := make([]byte, len(data))
	go func() { _, err := io.ReadFull(s, got); read <- err }()
	for _, ch := range []chan error{read, wrote} {
		select {
		case err := <-ch:
			require.NoError(t, err)
		case <-time.After(60 * time.Second):
			t.Fatalf("%d bytes did not cross both ways in 60 s", len(data))
		}
	}
	return got
}

// TestStreamRelaysBothWays: bytes written to a stream reach the node's
// side whole and in order, and what it writes back is read; several times
// the window, in writes of every size.
func TestStreamRelaysBothWays(t *testing.T) {
	f := &fakeNodes{nodes: map[string]func(net.Conn){"n1": echo}}
	g := newStreamGW(t, f.open)
	s, err := g.cl.OpenStream(context.Background(), "n1", "n1", nil, "echo")
	require.NoError(t, err)
	defer s.Close()
	data := randomBytes(t, 3*streamWindow+12345)
	require.Equal(t, data, exchange(t, s, data))
	for _, n := range []int{1, 7, streamChunk - 1, streamChunk, streamChunk + 1, 5 * streamChunk} {
		d := randomBytes(t, n)
		require.Equal(t, d, exchange(t, s, d), "a write of %d bytes", n)
	}
	require.Equal(t, []string{"echo"}, f.subs)

	_, err = g.cl.OpenStream(context.Background(), "nosuch", "nosuch", nil, "echo")
	require.EqualError(t, err, `via gateway gw1: no such node "nosuch"`)
}

// TestSFTPThroughStream: pkg/sftp's client over a stream to pkg/sftp's
// server on the node's side writes a file and reads it back as it is,
// with its mode and mtime.
func TestSFTPThroughStream(t *testing.T) {
	dir := t.TempDir()
	f := &fakeNodes{nodes: map[string]func(net.Conn){"n1": func(c net.Conn) {
		srv, err := sftp.NewServer(c, sftp.WithServerWorkingDirectory(dir))
		if err == nil {
			_ = srv.Serve()
		}
		_ = c.Close()
	}}}
	g := newStreamGW(t, f.open)
	s, err := g.cl.OpenStream(context.Background(), "n1", "n1", nil, "sftp")
	require.NoError(t, err)
	c, err := sftp.NewClientPipe(s, s, sftp.UseConcurrentWrites(true))
	require.NoError(t, err)
	defer c.Close()

	data := randomBytes(t, 5<<20+17)
	w, err := c.Create("f")
	require.NoError(t, err)
	_, err = w.ReadFrom(bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	mtime := time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)
	require.NoError(t, c.Chmod("f", 0o640))
	require.NoError(t, c.Chtimes("f", mtime, mtime))

	got, err := os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	require.Equal(t, data, got, "the node's file")
	fi, err := c.Stat("f")
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	require.True(t, fi.ModTime().Equal(mtime), "%v", fi.ModTime())
	r, err := c.Open("f")
	require.NoError(t, err)
	var back bytes.Buffer
	_, err = r.WriteTo(&back)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.Equal(t, data, back.Bytes(), "read back through the stream")
}

// TestStalledStreamHoldsUpNoOther: a node that stops reading its stream
// makes that stream's writer wait (its window is full), while another
// stream through the same gateway carries its bytes both ways to the end
// and a job runs; closing the stalled stream ends its wait and closes its
// node side.
func TestStalledStreamHoldsUpNoOther(t *testing.T) {
	f := &fakeNodes{nodes: map[string]func(net.Conn){
		"n1":      echo,
		"stalled": func(net.Conn) {}, // never reads: the pipe's writes wait, as a node's full SSH channel does
	}}
	g := newStreamGW(t, f.open)
	stalled, err := g.cl.OpenStream(context.Background(), "stalled", "stalled", nil, "sftp")
	require.NoError(t, err)
	wrote := make(chan error, 1)
	go func() { _, err := stalled.Write(make([]byte, 3*streamWindow)); wrote <- err }()

	// The writer fills the stalled stream's window and waits.
	testkit.WaitFor(t, 20*time.Second, "the stalled stream's window to fill", func() bool {
		stalled.end.mu.Lock()
		defer stalled.end.mu.Unlock()
		return stalled.end.unacked+streamChunk > streamWindow
	})
	select {
	case err := <-wrote:
		t.Fatalf("the write to a node that does not read ended: %v", err)
	default:
	}

	// Meanwhile another stream, and a job, through the same gateway.
	other, err := g.cl.OpenStream(context.Background(), "n1", "n1", nil, "sftp")
	require.NoError(t, err)
	data := randomBytes(t, 4*streamWindow)
	require.Equal(t, data, exchange(t, other, data))
	require.NoError(t, other.Close())
	h, err := g.cl.Connect(context.Background(), "local", ":")
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, h.Run(context.Background(), "echo job ran", &out, io.Discard))
	require.Equal(t, "job ran\n", out.String())

	require.NoError(t, stalled.Close())
	select {
	case err := <-wrote:
		require.ErrorIs(t, err, errStreamClosed)
	case <-time.After(20 * time.Second):
		t.Fatal("closing the stalled stream did not end its write")
	}
	select {
	case <-f.closedCh("stalled"):
	case <-time.After(20 * time.Second):
		t.Fatal("the stalled node's stream was not closed on the gateway")
	}
}

// TestStreamClosedByEitherEnd: the node's side ending reaches the
// controller as io.EOF after every byte it wrote, and later writes fail;
// the controller's Close closes the node's side; a gateway lost ends its
// streams' reads and writes with its loss.
func TestStreamClosedByEitherEnd(t *testing.T) {
	nodeGone := make(chan error, 1)
	f := &fakeNodes{nodes: map[string]func(net.Conn){
		"says-bye": func(c net.Conn) { _, _ = c.Write([]byte("bye")); _ = c.Close() },
		"waits": func(c net.Conn) {
			_, err := io.Copy(io.Discard, c)
			if err == nil {
				err = io.EOF
			}
			nodeGone <- err
		},
	}}
	g := newStreamGW(t, f.open)

	// The node's side ends.
	s, err := g.cl.OpenStream(context.Background(), "says-bye", "says-bye", nil, "x")
	require.NoError(t, err)
	got, err := io.ReadAll(s)
	require.NoError(t, err) // io.EOF
	require.Equal(t, "bye", string(got))
	_, err = s.Write([]byte("more"))
	require.ErrorIs(t, err, errPeerClosed)
	require.NoError(t, s.Close())

	// The controller closes.
	s, err = g.cl.OpenStream(context.Background(), "waits", "waits", nil, "x")
	require.NoError(t, err)
	_, err = s.Write([]byte("some"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	select {
	case <-nodeGone:
	case <-time.After(20 * time.Second):
		t.Fatal("the controller's Close did not close the node's side")
	}
	_, err = s.Read(make([]byte, 1))
	require.ErrorIs(t, err, errStreamClosed)

	// The gateway dies mid-stream: reads and writes end with its loss, and
	// its nodes' sides are closed.
	s, err = g.cl.OpenStream(context.Background(), "waits", "waits", nil, "x")
	require.NoError(t, err)
	read := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 1)); read <- err }()
	g.cut()
	select {
	case err := <-read:
		require.ErrorContains(t, err, "gateway gw1 lost")
	case <-time.After(20 * time.Second):
		t.Fatal("a read did not end when its gateway died")
	}
	_, err = s.Write([]byte("x"))
	require.ErrorContains(t, err, "gateway gw1 lost")
	select {
	case <-nodeGone:
	case <-time.After(20 * time.Second):
		t.Fatal("the node's side outlived its gateway's conversation")
	}
	select {
	case <-g.served:
	case <-time.After(20 * time.Second):
		t.Fatal("the gateway's Serve did not end")
	}
}

// TestStreamsRefusedWithoutOpener: a gateway served without an Opener
// refuses a stream with a reason, and goes on serving.
func TestStreamsRefusedWithoutOpener(t *testing.T) {
	g := newStreamGW(t, nil)
	_, err := g.cl.OpenStream(context.Background(), "n1", "n1", nil, "sftp")
	require.EqualError(t, err, "via gateway gw1: this gateway relays no streams")
	h, err := g.cl.Connect(context.Background(), "local", ":")
	require.NoError(t, err)
	require.NoError(t, h.Run(context.Background(), "true", io.Discard, io.Discard))
}

// TestStreamsNeedVersion4: a gateway of protocol version 3 (no streams)
// and this one refuse each other in the hello, both ways.
func TestStreamsNeedVersion4(t *testing.T) {
	require.Equal(t, "drove-gateway/4", Version)
	// An old controller's hello to this gateway.
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	served := make(chan error, 1)
	go func() { served <- Serve(context.Background(), gwIn, gwOut, nil); _ = gwOut.Close() }()
	go func() { _, _ = io.Copy(io.Discard, fromGW) }()
	require.NoError(t, newConn(strings.NewReader(""), toGW).send(&frame{Kind: kindHello, Hello: &Hello{Version: "drove-gateway/3"}}))
	var ve *VersionError
	require.ErrorAs(t, <-served, &ve)
	require.Equal(t, "drove-gateway/3", ve.Got)

	// This controller's hello to an old gateway, which answers with its own.
	ctlIn, oldOut := io.Pipe()
	oldIn, ctlOut := io.Pipe()
	go func() {
		c := newConn(oldIn, oldOut)
		if _, err := c.recv(); err == nil {
			_ = c.send(&frame{Kind: kindHello, Hello: &Hello{Version: "drove-gateway/3"}})
		}
	}()
	_, err := NewClient("old", ctlIn, ctlOut, Options{})
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "drove-gateway/3", ve.Got)
}

// brokenNode is a node's stream whose writes fail with err and whose
// reads wait until it is closed, then end (io.EOF): a node's SSH channel
// whose connection went, as x/crypto/ssh shows it.
type brokenNode struct {
	err    error
	once   sync.Once
	closed chan struct{}
}

func (b *brokenNode) Write([]byte) (int, error) { return 0, b.err }
func (b *brokenNode) Read([]byte) (int, error)  { <-b.closed; return 0, io.EOF }
func (b *brokenNode) Close() error              { b.once.Do(func() { close(b.closed) }); return nil }

// TestNodeWriteFailureEndsTheStreamAsFlat: a node's stream that takes no
// more writes ends, on the controller, as a node reached directly ends
// (its reads end, with no reason), whichever of the gateway's write and
// read fails first: drove copy then reports a node's death through a
// gateway as it does flat. A gateway lost further down stays its typed
// loss.
func TestNodeWriteFailureEndsTheStreamAsFlat(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want func(t *testing.T, err error)
	}{
		{"node", errors.New("write tcp 127.0.0.1:1->127.0.0.2:2: write: broken pipe"), func(t *testing.T, err error) {
			require.ErrorIs(t, err, io.EOF)
		}},
		{"lower gateway", &LostError{Gateway: "gw2", Err: errors.New("its session ended")}, func(t *testing.T, err error) {
			le, ok := errors.AsType[*LostError](err)
			require.True(t, ok, "%v", err)
			require.Equal(t, "gw2", le.Gateway)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open := func(ctx context.Context, spec string, route [][]string, subsystem string, opts Options) (io.ReadWriteCloser, error) {
				return &brokenNode{err: tc.err, closed: make(chan struct{})}, nil
			}
			g := newStreamGW(t, open)
			s, err := g.cl.OpenStream(context.Background(), "n1", "n1", nil, "sftp")
			require.NoError(t, err)
			_, err = s.Write([]byte("request"))
			require.NoError(t, err)
			read := make(chan error, 1)
			go func() { _, err := s.Read(make([]byte, 1)); read <- err }()
			select {
			case err := <-read:
				tc.want(t, err)
			case <-time.After(20 * time.Second):
				t.Fatal("the stream did not end when its node's side took no more")
			}
		})
	}
}
