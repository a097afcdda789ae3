package filecopy

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/drove-dev/drove/internal/sshtest"
	gliderssh "github.com/gliderlabs/ssh"
	"github.com/stretchr/testify/require"
)

// A node on which SFTP does not start is reported unreachable with the
// same words over an SSH connection and over a stream; one whose start is
// under way when ctx ends is interrupted, not unreachable.
func TestSFTPStartFails(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(src, []byte("x"), 0o644))
	key := sshtest.NewSigner(t)
	const refused = "filecopy: starting SFTP (the node's sshd needs an sftp Subsystem): "

	// silent is a node whose SFTP start never gets an answer: its sshd
	// takes the subsystem and says nothing; started is closed when it is
	// asked.
	started := make(chan struct{})
	var once sync.Once
	silent := sshtest.New(t, sshtest.Options{SFTPHandler: func(s gliderssh.Session) {
		once.Do(func() { close(started) })
		<-s.Context().Done()
	}})
	// A stream whose far end is closed at once, and one whose far end
	// never reads (opened tells when it was opened).
	closedStream := Node{Name: "closed", Open: func(ctx context.Context) (io.ReadWriteCloser, error) {
		near, far := net.Pipe()
		_ = far.Close()
		return near, nil
	}}
	opened := make(chan struct{})
	var fars []net.Conn
	t.Cleanup(func() {
		for _, f := range fars {
			_ = f.Close()
		}
	})
	silentStream := Node{Name: "silent", Open: func(ctx context.Context) (io.ReadWriteCloser, error) {
		near, far := net.Pipe()
		fars = append(fars, far)
		close(opened)
		return near, nil
	}}

	for _, c := range []struct {
		name        string
		node        Node
		cancelOn    chan struct{} // nil: not cancelled
		interrupted bool
	}{
		{"ssh without sftp", sshNode("nosftp", sshtest.New(t, sshtest.Options{}), key), nil, false},
		{"stream closed", closedStream, nil, false},
		{"ssh interrupted", sshNode("silent", silent, key), started, true},
		{"stream interrupted", silentStream, opened, true},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		if c.cancelOn != nil {
			go func() { <-c.cancelOn; cancel() }()
		}
		sum, err := Push(ctx, []Node{c.node}, Options{Sources: []string{src}, Dest: "f"})
		cancel()
		require.NoError(t, err, c.name)
		r := sum.Nodes[0]
		require.Len(t, r.Errors, 1, "%s: %v", c.name, r.Errors)
		msg := r.Errors[0].Error()
		if c.interrupted {
			require.ErrorIs(t, r.Errors[0], ErrInterrupted, c.name)
			require.Equal(t, c.node.Name+": interrupted while starting SFTP", msg, c.name)
			require.True(t, r.Interrupted, c.name)
			require.False(t, r.Unreachable, c.name)
			continue
		}
		require.NotErrorIs(t, r.Errors[0], ErrInterrupted, c.name)
		require.True(t, strings.HasPrefix(msg, c.node.Name+": "+refused), "%s: %s", c.name, msg)
		require.True(t, r.Unreachable, c.name)
		require.False(t, r.Interrupted, c.name)
	}
}
