package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drove-dev/drove/filecopy"
	"github.com/drove-dev/drove/gateway"
	"github.com/drove-dev/drove/internal/sshtest"
	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
)

// BenchmarkCopyThroughGateway: drove copy's push (filecopy.Push) of a
// large file and of many small files to one node, directly (SFTP over an
// SSH connection to the node) and relayed (SFTP over a stream through a
// gateway: an SSH session to an in-process gateway serving the protocol,
// which opens the node's sftp subsystem over its own SSH connection).
// Both nodes and the gateway are in-process x/crypto/gliderlabs servers on
// loopback, so each relayed byte is encrypted twice, as on a real bed.
func BenchmarkCopyThroughGateway(b *testing.B) {
	key := sshtest.NewSigner(b)
	node := sshtest.New(b, sshtest.Options{SFTP: true})
	dialNode := func(context.Context) (*ssh.Client, error) {
		return ssh.Dial("tcp", node.Addr, &ssh.ClientConfig{User: "bench", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
			HostKeyCallback: ssh.FixedHostKey(node.Signer.PublicKey()), Timeout: 30 * time.Second})
	}
	open := func(ctx context.Context, spec string, route [][]string, subsystem string, opts gateway.Options) (io.ReadWriteCloser, error) {
		conn, err := dialNode(ctx)
		if err != nil {
			return nil, err
		}
		return gateway.OpenSubsystem(conn, subsystem, gateway.Keepalive{}, 0)
	}
	gw := sshtest.New(b, sshtest.Options{Handler: func(s gliderssh.Session) {
		_ = gateway.ServeStreams(s.Context(), s, s, nil, open)
	}})
	gconn, err := ssh.Dial("tcp", gw.Addr, &ssh.ClientConfig{User: "bench", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(gw.Signer.PublicKey()), Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = gconn.Close() })
	sess, err := gconn.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	stdin, _ := sess.StdinPipe()
	stdout, _ := sess.StdoutPipe()
	if err := sess.Shell(); err != nil {
		b.Fatal(err)
	}
	cl, err := gateway.NewClient("gw", stdout, stdin, gateway.Options{})
	if err != nil {
		b.Fatal(err)
	}
	nodes := map[string]filecopy.Node{
		"direct": {Name: "n", Dial: dialNode},
		"relayed": {Name: "n", Open: func(ctx context.Context) (io.ReadWriteCloser, error) {
			return cl.OpenStream(ctx, "n", "n", nil, "sftp")
		}},
	}

	large := filepath.Join(b.TempDir(), "large")
	data := make([]byte, 64<<20)
	_, _ = rand.Read(data)
	if err := os.WriteFile(large, data, 0o644); err != nil {
		b.Fatal(err)
	}
	const smallFiles, smallSize = 1000, 4 << 10
	small := filepath.Join(b.TempDir(), "small")
	if err := os.Mkdir(small, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range smallFiles {
		if err := os.WriteFile(filepath.Join(small, fmt.Sprintf("f%04d", i)), data[i*smallSize:(i+1)*smallSize], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, what := range []struct {
		name  string
		src   string
		bytes int64
		files int
	}{{"large", large, int64(len(data)), 1}, {"small", small, smallFiles * smallSize, smallFiles}} {
		for _, how := range []string{"direct", "relayed"} {
			b.Run(what.name+"/"+how, func(b *testing.B) {
				dest := b.TempDir()
				b.SetBytes(what.bytes)
				for i := range b.N {
					sum, err := filecopy.Push(context.Background(), []filecopy.Node{nodes[how]},
						filecopy.Options{Sources: []string{what.src}, Dest: filepath.Join(dest, fmt.Sprint(i)) + "/"})
					if err != nil || sum.Failed() != 0 {
						b.Fatalf("%v %+v", err, sum.Nodes)
					}
				}
				b.ReportMetric(float64(b.N*what.files)/b.Elapsed().Seconds(), "files/s")
			})
		}
	}
}
