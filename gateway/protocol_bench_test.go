//go:build unix

package gateway

import (
	"context"
	"io"
	"syscall"
	"testing"

	"github.com/drove-dev/drove/runner"
)

// lineHost is a node whose every job writes one line and succeeds: what
// the protocol carries for "hostname" on a node, without the node.
type lineHost struct{}

func (lineHost) Run(_ context.Context, _ string, stdout, _ io.Writer) error {
	_, err := io.WriteString(stdout, "gw-ok 127.0.0.11:22\n")
	return err
}

func (lineHost) Close() error { return nil }

// BenchmarkNodeThroughGateway is the protocol's cost of one node on a
// fan-out: Connect, one job writing one line, its end, Close; many nodes
// in flight at once, both ends (Client and Serve) in this process over
// pipes, no SSH. cpu-ns/op is the process's CPU (user+sys, getrusage) per
// node: the controller's and the gateway's protocol work together, an
// upper bound for either side, measured as CPU so that other load on the
// machine does not count.
func BenchmarkNodeThroughGateway(b *testing.B) {
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- Serve(context.Background(), gwIn, gwOut, func(context.Context, string, [][]string, Options) (runner.Host, error) {
			return lineHost{}, nil
		})
		_ = gwOut.Close()
	}()
	cl, err := NewClient("gw1", fromGW, toGW, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(64)
	before := cpuNanos(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			h, err := cl.Connect(ctx, "node", "node")
			if err != nil {
				b.Error(err)
				return
			}
			if err := h.Run(ctx, "hostname", io.Discard, io.Discard); err != nil {
				b.Error(err)
				return
			}
			if err := h.Close(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuNanos(b)-before)/float64(b.N), "cpu-ns/op")
	_ = toGW.Close()
	if err := <-served; err != nil {
		b.Fatal(err)
	}
	_ = fromGW.Close()
}

func cpuNanos(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
