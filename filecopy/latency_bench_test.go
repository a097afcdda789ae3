package filecopy

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	gliderssh "github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"
)

// delayedWriter writes each p to w d after it was handed over, in order,
// without holding up the writer: a link with one-way latency d.
type delayedWriter struct {
	w     io.Writer
	d     time.Duration
	queue chan delayed
}

type delayed struct {
	due time.Time
	p   []byte
}

func newDelayedWriter(w io.Writer, d time.Duration) *delayedWriter {
	dw := &delayedWriter{w: w, d: d, queue: make(chan delayed, 1<<16)}
	go func() {
		for m := range dw.queue {
			time.Sleep(time.Until(m.due))
			if _, err := dw.w.Write(m.p); err != nil {
				return
			}
		}
	}()
	return dw
}

func (dw *delayedWriter) Write(p []byte) (int, error) {
	dw.queue <- delayed{due: time.Now().Add(dw.d), p: append([]byte(nil), p...)}
	return len(p), nil
}

// latencySession is an SFTP session whose answers arrive rtt late.
type latencySession struct {
	gliderssh.Session
	w *delayedWriter
}

func (l latencySession) Write(p []byte) (int, error) { return l.w.Write(p) }

// BenchmarkPushSmallFilesLatency pushes a directory of 200 small files to
// one SFTP node whose answers come 20 ms late (a loaded node, a far one):
// the time is then mostly round trips, how many a file waits for one after
// the other and how many files are in flight, not this machine's CPU.
// ms/file is reported.
func BenchmarkPushSmallFilesLatency(b *testing.B) {
	const files, rtt = 200, 20 * time.Millisecond
	src := filepath.Join(b.TempDir(), "tree")
	if err := os.Mkdir(src, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range files {
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%d", i)), make([]byte, 1+i*37%8192), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	srv := sshtest.New(b, sshtest.Options{SFTPHandler: func(s gliderssh.Session) {
		ls := latencySession{Session: s, w: newDelayedWriter(s, rtt)}
		defer close(ls.w.queue)
		if server, err := sftp.NewServer(ls); err == nil {
			_ = server.Serve()
		}
	}})
	key := sshtest.NewSigner(b)
	dest := b.TempDir()
	b.ResetTimer()
	for i := range b.N {
		sum, err := Push(context.Background(), []Node{sshNode("n", srv, key)}, Options{Sources: []string{src}, Dest: filepath.Join(dest, fmt.Sprint(i)) + "/"})
		if err != nil || sum.Failed() != 0 {
			b.Fatalf("%v %v", err, sum.Nodes)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*files), "ms/file")
}
