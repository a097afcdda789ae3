package filecopy

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/drove-dev/drove/internal/sshtest"
	gliderssh "github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
)

// gatedSession is an SFTP session that stops reading the client's requests
// once it has read more than limit bytes: it closes reached and blocks
// until released.
type gatedSession struct {
	gliderssh.Session
	limit    int
	read     int
	reached  chan struct{}
	released <-chan struct{}
	once     sync.Once
}

func (g *gatedSession) Read(p []byte) (int, error) {
	if g.read > g.limit {
		g.once.Do(func() { close(g.reached) })
		<-g.released
	}
	n, err := g.Session.Read(p)
	g.read += n
	return n, err
}

// A node that dies in the middle of a file leaves no file under the real
// name (only the temporary one); the node is reported with the path and the
// lost connection, and the other node gets everything.
func TestPushNodeDiesMidFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(src, bytes.Repeat([]byte("x"), 8<<20), 0o644))
	small := filepath.Join(dir, "small")
	require.NoError(t, os.WriteFile(small, []byte("s"), 0o644))

	reached, released := make(chan struct{}), make(chan struct{})
	var dying *sshtest.Server
	dying = sshtest.New(t, sshtest.Options{SFTPHandler: func(s gliderssh.Session) {
		srv, err := sftp.NewServer(&gatedSession{Session: s, limit: 1 << 20, reached: reached, released: released})
		if err == nil {
			_ = srv.Serve()
		}
	}})
	t.Cleanup(func() {
		select {
		case <-released:
		default:
			close(released)
		}
	})
	healthy := sshtest.New(t, sshtest.Options{SFTP: true})
	key := sshtest.NewSigner(t)
	destDying := filepath.Join(dying.Dir, "d")
	if dying.Dir == "" {
		destDying = filepath.Join(t.TempDir(), "d")
	}
	require.NoError(t, os.MkdirAll(destDying, 0o755))

	type out struct {
		sum Summary
		err error
	}
	done := make(chan out, 1)
	go func() {
		s, err := Push(context.Background(), []Node{sshNode("dying", dying, key)}, Options{Sources: []string{src, small}, Dest: destDying})
		done <- out{s, err}
	}()
	<-reached
	dying.Kill()
	close(released)
	o := <-done
	require.NoError(t, o.err)
	r := o.sum.Nodes[0]
	require.False(t, r.OK())
	var paths []string
	lost := false
	for _, e := range r.Errors {
		paths = append(paths, e.Path)
		lost = lost || e.Path == "" && strings.Contains(e.Error(), ErrConnectionLost.Error())
	}
	require.Contains(t, paths, filepath.Join(destDying, "big"), "%v", r.Errors)
	require.True(t, lost, "connection lost reported: %v", r.Errors)
	_, err := os.Stat(filepath.Join(destDying, "big"))
	require.ErrorIs(t, err, os.ErrNotExist, "a half-written file under the real name")
	_, err = os.Stat(filepath.Join(destDying, "small"))
	require.ErrorIs(t, err, os.ErrNotExist, "the node went on after its connection died")
	temps, err := filepath.Glob(filepath.Join(destDying, ".drove-tmp-*"))
	require.NoError(t, err)
	require.Len(t, temps, 1, "the temporary file holds the partial copy")

	// The same copy to a healthy node is whole.
	sum, err := Push(context.Background(), []Node{sshNode("healthy", healthy, key)}, Options{Sources: []string{src, small}, Dest: healthy.Dir + "/d/"})
	require.NoError(t, err)
	require.True(t, sum.Nodes[0].OK(), "%v", sum.Nodes[0].Errors)
	fi, err := os.Stat(filepath.Join(healthy.Dir, "d", "big"))
	require.NoError(t, err)
	require.Equal(t, int64(8<<20), fi.Size())
}

// gatedNode is a node whose SFTP server stops reading after 1 MiB: reached
// is closed then, and it reads on once release is called.
func gatedNode(t *testing.T) (s *sshtest.Server, reached <-chan struct{}, release func()) {
	r, released := make(chan struct{}), make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(released) }) }
	t.Cleanup(release)
	s = sshtest.New(t, sshtest.Options{SFTPHandler: func(s gliderssh.Session) {
		srv, err := sftp.NewServer(&gatedSession{Session: s, limit: 1 << 20, reached: r, released: released})
		if err == nil {
			_ = srv.Serve()
		}
	}})
	return s, r, release
}

// The first interrupt (Drain) lets the file being written finish and
// starts no other; the second (ctx) closes the connection at once, leaving
// no file under the real name.
func TestPushInterrupts(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(big, bytes.Repeat([]byte("x"), 8<<20), 0o644))
	small := filepath.Join(dir, "small")
	require.NoError(t, os.WriteFile(small, []byte("s"), 0o644))
	key := sshtest.NewSigner(t)

	for _, second := range []bool{false, true} {
		node, reached, release := gatedNode(t)
		dest := t.TempDir()
		drain := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan Summary, 1)
		go func() {
			s, _ := Push(ctx, []Node{sshNode("n", node, key)}, Options{Sources: []string{big, small}, Dest: dest + "/", Drain: drain})
			done <- s
		}()
		<-reached
		close(drain)
		if second {
			cancel()
		}
		release()
		sum := <-done
		cancel()
		require.True(t, sum.Interrupted)
		r := sum.Nodes[0]
		require.True(t, r.Interrupted, "%+v", r)
		fi, err := os.Stat(filepath.Join(dest, "big"))
		if second {
			require.ErrorIs(t, err, os.ErrNotExist, "killed mid-file, yet the real name exists")
		} else {
			require.NoError(t, err, "the file being written when drained was not finished: %v", r.Errors)
			require.Equal(t, int64(8<<20), fi.Size())
		}
		_, err = os.Stat(filepath.Join(dest, "small"))
		require.ErrorIs(t, err, os.ErrNotExist, "a file started after the interrupt")
	}
}
