package filecopy

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
)

// wayLost is a test's typed loss of the way to a node (a gateway's, in
// drove): what a stream's reads and writes end with when the way is cut.
type wayLost struct{ way string }

func (e *wayLost) Error() string { return "way " + e.way + " lost" }

// cut says how one open of a wayNode's stream ends: after more than after
// bytes crossed its node's end (0: never), its reads and writes then
// failing with err (nil: the node's own end, io.EOF).
type cut struct {
	after int
	err   error
}

// wayNode is a node reached by streams (Node.Open) to pkg/sftp's server in
// this process, the i-th open's stream cut as cuts[i] says (past the
// list: never). Redo says true for a *wayLost, each way once. A stream's
// Close returns once its node's server is done, as the connection behind a
// lost way is gone before the next route opens.
type wayNode struct {
	cuts   []cut
	onOpen func(i int) // called at each open, before it
	onCut  func()      // called when a stream's end fails, before the copy hears of it

	mu    sync.Mutex
	opens int
	asked []error // what Redo was asked
	lost  map[string]bool
}

func (w *wayNode) node(name string) Node {
	return Node{Name: name, Open: w.open, Redo: w.redo}
}

func (w *wayNode) redo(err error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.asked = append(w.asked, err)
	var wl *wayLost
	if !errors.As(err, &wl) || w.lost[wl.way] {
		return false
	}
	if w.lost == nil {
		w.lost = map[string]bool{}
	}
	w.lost[wl.way] = true
	return true
}

func (w *wayNode) open(ctx context.Context) (io.ReadWriteCloser, error) {
	w.mu.Lock()
	i := w.opens
	w.opens++
	w.mu.Unlock()
	if w.onOpen != nil {
		w.onOpen(i)
	}
	var c cut
	if i < len(w.cuts) {
		c = w.cuts[i]
	}
	near, far := net.Pipe()
	served := make(chan struct{})
	go func() {
		defer close(served)
		var rwc io.ReadWriteCloser = far
		if c.after > 0 {
			rwc = &cutAfter{Conn: far, limit: c.after}
		}
		srv, err := sftp.NewServer(rwc)
		if err == nil {
			_ = srv.Serve()
		}
		_ = far.Close()
	}()
	return &wayEnd{Conn: near, err: c.err, served: served, onCut: w.onCut}, nil
}

func (w *wayNode) counts() (opens int, asked []error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.opens, append([]error(nil), w.asked...)
}

// cutAfter is a node's end of a stream that is cut once more than limit
// bytes crossed it, either way.
type cutAfter struct {
	net.Conn
	limit int
	mu    sync.Mutex
	n     int
}

func (c *cutAfter) count(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += n
	return c.n > c.limit
}

func (c *cutAfter) Read(p []byte) (int, error) {
	if c.count(0) {
		_ = c.Conn.Close()
		return 0, io.ErrClosedPipe
	}
	n, err := c.Conn.Read(p)
	c.count(n)
	return n, err
}

func (c *cutAfter) Write(p []byte) (int, error) {
	if c.count(len(p)) {
		_ = c.Conn.Close()
		return 0, io.ErrClosedPipe
	}
	return c.Conn.Write(p)
}

// wayEnd is the copy's end of a stream: its reads and writes fail with err
// (when set) once the stream is cut, and Close waits for the node's
// server to be done.
type wayEnd struct {
	net.Conn
	err    error
	served <-chan struct{}
	onCut  func()
}

func (e *wayEnd) failed(err error) error {
	if err == nil {
		return nil
	}
	if e.onCut != nil {
		e.onCut()
	}
	if e.err != nil {
		return e.err
	}
	return err
}

func (e *wayEnd) Read(p []byte) (int, error) {
	n, err := e.Conn.Read(p)
	return n, e.failed(err)
}

func (e *wayEnd) Write(p []byte) (int, error) {
	n, err := e.Conn.Write(p)
	return n, e.failed(err)
}

func (e *wayEnd) Close() error {
	err := e.Conn.Close()
	select {
	case <-e.served:
	case <-time.After(30 * time.Second):
		return errors.New("the node's server outlived its stream by 30 s")
	}
	return err
}

// hasTemp reports whether dir holds a temporary file anywhere.
func hasTemp(t *testing.T, dir string) bool {
	t.Helper()
	found := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && len(d.Name()) > 11 && d.Name()[:11] == ".drove-tmp-" {
			found = true
		}
		return nil
	})
	return found
}

// A push whose way to the node is lost mid-copy is done again over the
// next stream: the tree arrives as an unbroken push leaves it (the same
// entries, modes, mtimes, links and counts), under the name the first
// push chose (a directory source pushed to a new name is that name, not
// a directory inside it, though the first push made it), and without the
// temporary files the broken push left.
func TestRedoAfterLostWay(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	makeTree(t, src)
	want := snapshot(t, src)
	plain, err := Push(context.Background(), []Node{streamNode("n", nil)}, Options{Sources: []string{src}, Dest: filepath.Join(t.TempDir(), "out")})
	require.NoError(t, err)
	require.True(t, plain.Nodes[0].OK(), "%v", plain.Nodes[0].Errors)

	for _, after := range []int{64 << 10, 600 << 10, 1 << 20} {
		dest := t.TempDir()
		out := filepath.Join(dest, "out")
		left := false
		w := &wayNode{cuts: []cut{{after: after, err: &wayLost{"gw1"}}}}
		w.onOpen = func(i int) {
			if i == 1 {
				left = hasTemp(t, dest)
			}
		}
		sum, err := Push(context.Background(), []Node{w.node("n")}, Options{Sources: []string{src}, Dest: out})
		require.NoError(t, err)
		r := sum.Nodes[0]
		require.True(t, r.OK(), "cut after %d: %v", after, r.Errors)
		opens, asked := w.counts()
		require.Equal(t, 2, opens, "cut after %d", after)
		require.Len(t, asked, 1)
		if after >= 600<<10 {
			require.True(t, left, "cut after %d: the broken push left no temporary file: nothing shown", after)
		}
		requireSameTree(t, want, snapshot(t, out))
		requireNoTemp(t, dest)
		require.Equal(t, plain.Nodes[0], r, "the redone node's result")
	}
}

// A pull whose way is lost mid-copy is done again: DEST/NODE/ holds what
// an unbroken pull gives, and no temporary file.
func TestRedoPullAfterLostWay(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	makeTree(t, src)
	want := snapshot(t, src)
	for k, e := range want {
		e.Mode &^= os.ModeSetuid | os.ModeSetgid
		want[k] = e
	}
	dest := t.TempDir()
	w := &wayNode{cuts: []cut{{after: 600 << 10, err: &wayLost{"gw1"}}}}
	sum, err := Pull(context.Background(), []Node{w.node("n")}, Options{Sources: []string{src}, Dest: dest})
	require.NoError(t, err)
	require.True(t, sum.Nodes[0].OK(), "%v", sum.Nodes[0].Errors)
	opens, _ := w.counts()
	require.Equal(t, 2, opens)
	requireSameTree(t, want, snapshot(t, filepath.Join(dest, "n", "tree")))
	requireNoTemp(t, dest)
}

// The node's own loss (its stream's plain end) is not redone, nor is a
// way's loss Redo refuses, and a node whose redone copy then fails on its
// own fails as any node: reported lost, not redone again. A way lost
// twice in a row (two ways) is redone twice.
func TestRedoOnlyForTheWay(t *testing.T) {
	src := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(src, make([]byte, 4<<20), 0o644))
	for _, tc := range []struct {
		name  string
		cuts  []cut
		opens int
		ok    bool
	}{
		{"the node's own end", []cut{{after: 1 << 20}}, 1, false},
		{"lost, then the node's own end", []cut{{after: 1 << 20, err: &wayLost{"gw1"}}, {after: 1 << 20}}, 2, false},
		{"the same way lost twice", []cut{{after: 1 << 20, err: &wayLost{"gw1"}}, {after: 1 << 20, err: &wayLost{"gw1"}}}, 2, false},
		{"two ways lost in a row", []cut{{after: 1 << 20, err: &wayLost{"gw1"}}, {after: 1 << 20, err: &wayLost{"gw2"}}}, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			w := &wayNode{cuts: tc.cuts}
			sum, err := Push(context.Background(), []Node{w.node("n")}, Options{Sources: []string{src}, Dest: dest + "/"})
			require.NoError(t, err)
			r := sum.Nodes[0]
			opens, _ := w.counts()
			require.Equal(t, tc.opens, opens)
			require.Equal(t, tc.ok, r.OK(), "%v", r.Errors)
			if tc.ok {
				requireNoTemp(t, dest)
				return
			}
			_, err = os.Stat(filepath.Join(dest, "big"))
			require.ErrorIs(t, err, os.ErrNotExist, "a half-written file under the real name")
		})
	}
}

// A copy being interrupted is not redone: Ctrl-C as the way is lost
// leaves the node lost and interrupted, Ctrl-C during a redo stops the
// redo as any copy.
func TestNoRedoWhenInterrupted(t *testing.T) {
	src := filepath.Join(t.TempDir(), "many")
	require.NoError(t, os.Mkdir(src, 0o755))
	for _, n := range hostileNames {
		require.NoError(t, os.WriteFile(filepath.Join(src, n), make([]byte, 256<<10), 0o644))
	}
	for _, during := range []bool{false, true} {
		dest := t.TempDir()
		drain := make(chan struct{})
		w := &wayNode{cuts: []cut{{after: 1 << 20, err: &wayLost{"gw1"}}}}
		var once sync.Once
		if during {
			w.onOpen = func(i int) {
				if i == 1 {
					once.Do(func() { close(drain) })
				}
			}
		} else {
			w.onCut = func() { once.Do(func() { close(drain) }) }
		}
		sum, err := Push(context.Background(), []Node{w.node("n")}, Options{Sources: []string{src}, Dest: dest + "/", Drain: drain})
		require.NoError(t, err)
		require.True(t, sum.Interrupted)
		r := sum.Nodes[0]
		require.False(t, r.OK())
		opens, asked := w.counts()
		if during {
			require.Equal(t, 2, opens, "redone once, then interrupted")
			require.True(t, r.Interrupted, "%v", r.Errors)
		} else {
			require.Equal(t, 1, opens, "not redone")
			require.Empty(t, asked, "Redo is not asked once interrupted")
		}
	}
}
