//go:build unix

package gateway

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/runner"
)

// printHost is a node whose every job prints the same bytes, in pieces of
// 32 KiB (as an SSH channel delivers them), and succeeds.
type printHost struct{ out []byte }

func (h printHost) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	for p := h.out; len(p) > 0; {
		k := min(len(p), 32<<10)
		if _, err := stdout.Write(p[:k]); err != nil {
			return err
		}
		p = p[k:]
	}
	return nil
}

func (printHost) Close() error { return nil }

// TestHelperGatewayProcess is not a test: BenchmarkGatherThroughGateways
// runs this test binary with DROVE_GATEWAY_BENCH_BYTES set, as a gateway
// of its own process (so that the benchmark's CPU is the controller's
// alone), whose nodes print that many bytes per job.
func TestHelperGatewayProcess(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("DROVE_GATEWAY_BENCH_BYTES"))
	if err != nil {
		t.Skip("a helper process of BenchmarkGatherThroughGateways")
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = byte('a' + i%26)
	}
	connect := func(context.Context, string, [][]string, Options) (runner.Host, error) { return printHost{out}, nil }
	if err := Serve(context.Background(), os.Stdin, os.Stdout, connect); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// BenchmarkGatherThroughGateways: 1,000 jobs each printing the same 1 MiB
// through 2 gateways (processes of their own, over pipes: no SSH), with
// their output streamed (blocks=false, as before Options.Blocks) or sent
// as blocks by hash. It reports the bytes the controller received and its
// CPU time (user+system of this process) per run; sink=hash also hashes
// each job's output as termview's --gather does, sink=discard drops it.
func BenchmarkGatherThroughGateways(b *testing.B) {
	const jobs, size, gateways = 1000, 1 << 20, 2
	for _, blocks := range []bool{false, true} {
		for _, sink := range []string{"discard", "hash"} {
			b.Run(fmt.Sprintf("blocks=%v/sink=%s", blocks, sink), func(b *testing.B) {
				var received atomic.Int64
				var cpu time.Duration
				for range b.N {
					hosts := make([]runner.Host, gateways)
					var ends []func()
					for g := range hosts {
						cmd := exec.Command(os.Args[0], "-test.run=^TestHelperGatewayProcess$")
						cmd.Env = append(os.Environ(), "DROVE_GATEWAY_BENCH_BYTES="+strconv.Itoa(size))
						cmd.Stderr = os.Stderr
						stdin, err := cmd.StdinPipe()
						if err != nil {
							b.Fatal(err)
						}
						stdout, err := cmd.StdoutPipe()
						if err != nil {
							b.Fatal(err)
						}
						if err := cmd.Start(); err != nil {
							b.Fatal(err)
						}
						ends = append(ends, func() { _ = stdin.Close(); _ = cmd.Wait() })
						cl, err := NewClient(fmt.Sprint("gw", g), countingReader{stdout, &received}, stdin, Options{Blocks: blocks})
						if err != nil {
							b.Fatal(err)
						}
						if hosts[g], err = cl.Connect(context.Background(), "n", "n"); err != nil {
							b.Fatal(err)
						}
					}
					before := cpuTime(b)
					var wg sync.WaitGroup
					errs := make(chan error, jobs)
					const workers = 4 // jobs at once per gateway
					for g, h := range hosts {
						for k := range workers {
							wg.Add(1)
							go func() {
								defer wg.Done()
								for j := g*workers + k; j < jobs; j += gateways * workers {
									var w io.Writer = io.Discard
									if sink == "hash" {
										w = sha256.New()
									}
									if err := h.Run(context.Background(), "print", w, io.Discard); err != nil {
										errs <- err
										return
									}
								}
							}()
						}
					}
					wg.Wait()
					cpu += cpuTime(b) - before
					for _, end := range ends {
						end()
					}
					close(errs)
					for err := range errs {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(received.Load())/float64(b.N)/(1<<20), "MiB-received/op")
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			})
		}
	}
}

// cpuTime is the user and system CPU this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
