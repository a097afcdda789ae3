package filecopy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
)

// streamNode is a node reached by a stream (Node.Open): a net.Pipe whose
// far end is pkg/sftp's server in this process. Each open's far end is
// handed to wrap first, when set (a test's way to break it).
func streamNode(name string, wrap func(net.Conn) io.ReadWriteCloser) Node {
	return Node{Name: name, Open: func(ctx context.Context) (io.ReadWriteCloser, error) {
		near, far := net.Pipe()
		var rwc io.ReadWriteCloser = far
		if wrap != nil {
			rwc = wrap(far)
		}
		go func() {
			srv, err := sftp.NewServer(rwc)
			if err == nil {
				_ = srv.Serve()
			}
			_ = rwc.Close()
		}()
		return near, nil
	}}
}

// A tree pushed over a stream, and pulled back, arrives as it does over
// an SSH connection: the same entries, modes, mtimes and links.
func TestPushAndPullOverAStream(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	makeTree(t, src)
	want := snapshot(t, src)
	dest := t.TempDir()
	sum, err := Push(context.Background(), []Node{streamNode("s1", nil)}, Options{Sources: []string{src}, Dest: dest + "/out/"})
	require.NoError(t, err)
	r := sum.Nodes[0]
	require.True(t, r.OK(), "%v", r.Errors)
	require.Equal(t, len(hostileNames)*2+2, r.Files)
	requireSameTree(t, want, snapshot(t, filepath.Join(dest, "out", "tree")))
	requireNoTemp(t, dest)

	back := t.TempDir()
	sum, err = Pull(context.Background(), []Node{streamNode("s1", nil)}, Options{Sources: []string{filepath.Join(dest, "out", "tree")}, Dest: back})
	require.NoError(t, err)
	require.True(t, sum.Nodes[0].OK(), "%v", sum.Nodes[0].Errors)
	got := snapshot(t, filepath.Join(back, "s1", "tree"))
	// Pulling drops setuid and setgid, as from any node.
	for k, e := range want {
		e.Mode &^= os.ModeSetuid | os.ModeSetgid
		want[k] = e
	}
	requireSameTree(t, want, got)
}

// brokenAfter is a stream's far end that fails every read and write, with
// err, once more than limit bytes were read from it.
type brokenAfter struct {
	net.Conn
	limit int
	err   error
	mu    sync.Mutex
	read  int
}

func (b *brokenAfter) Read(p []byte) (int, error) {
	b.mu.Lock()
	over := b.read > b.limit
	b.mu.Unlock()
	if over {
		_ = b.Conn.Close()
		return 0, b.err
	}
	n, err := b.Conn.Read(p)
	b.mu.Lock()
	b.read += n
	b.mu.Unlock()
	return n, err
}

// A stream that ends mid-file fails the node as a lost connection does
// (the file's path, then the node, no file under the real name); when its
// end says why (a gateway lost), the node's error says so too.
func TestStreamLostMidFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(src, bytes.Repeat([]byte("x"), 8<<20), 0o644))
	for _, why := range []string{"", "gateway gw1 lost: its session ended"} {
		dest := t.TempDir()
		// The near end reads what the far end says: a stream whose far end
		// is gone ends the near end's reads with io.EOF (a node's death), or
		// with why (the near end's own error, as a gateway's Stream has).
		n := Node{Name: "n", Open: func(ctx context.Context) (io.ReadWriteCloser, error) {
			near, far := net.Pipe()
			go func() {
				srv, err := sftp.NewServer(&brokenAfter{Conn: far, limit: 1 << 20, err: errors.New("cut")})
				if err == nil {
					_ = srv.Serve()
				}
				_ = far.Close()
			}()
			if why == "" {
				return near, nil
			}
			return &failingReads{Conn: near, err: errors.New(why)}, nil
		}}
		sum, err := Push(context.Background(), []Node{n}, Options{Sources: []string{src}, Dest: dest + "/"})
		require.NoError(t, err)
		r := sum.Nodes[0]
		require.False(t, r.OK())
		var lines []string
		for _, e := range r.Errors {
			lines = append(lines, e.Error())
		}
		all := strings.Join(lines, "\n")
		require.Contains(t, all, "n: "+filepath.Join(dest, "big")+": ", "the file's path is reported")
		wantLost := "n: connection lost"
		if why != "" {
			wantLost += ": " + why
		}
		require.Contains(t, lines, wantLost, "%s", all)
		_, err = os.Stat(filepath.Join(dest, "big"))
		require.ErrorIs(t, err, os.ErrNotExist, "a half-written file under the real name")
	}
}

// failingReads turns the end of reads (io.EOF) into err, as a gateway's
// stream says its gateway's loss.
type failingReads struct {
	net.Conn
	err error
}

func (f *failingReads) Read(p []byte) (int, error) {
	n, err := f.Conn.Read(p)
	if err != nil {
		return n, f.err
	}
	return n, nil
}
