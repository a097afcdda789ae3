package runner

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/drove-dev/drove/jobs"
	"golang.org/x/crypto/ssh"
)

// BenchmarkDispatchVsBareLoop runs trivial jobs over in-process SSH servers
// (4 nodes x 4 slots) with drove's pool, and the same number of sessions
// with a bare loop of x/crypto/ssh sessions on the same servers (one
// connection per node, 4 goroutines each), in the same run. It reports both
// throughputs and drove/bare: the goal is drove's scheduling costing under
// 10% of the bare loop's throughput (ratio >= 0.90).
func BenchmarkDispatchVsBareLoop(b *testing.B) {
	const nodesN, slots, jobsN = 4, 4, 2000
	var servers []*sshtest.Server
	for range nodesN {
		servers = append(servers, sshtest.New(b, sshtest.Options{Instant: true}))
	}
	cmds := make([]string, jobsN)
	for i := range cmds {
		cmds[i] = "true"
	}
	var droveTime, bareTime time.Duration
	for b.Loop() {
		// drove
		var ns []Node
		for _, ts := range servers {
			ns = append(ns, Node{Name: ts.Addr, Slots: slots, Connect: func(ctx context.Context) (Host, error) {
				return NewSSH(ctx, ts.Addr, dialTo(ts), SSHOptions{KeepaliveInterval: 5 * time.Second})
			}})
		}
		start := time.Now()
		rep := Run(context.Background(), Config{Nodes: ns, Jobs: jobs.Concat(&jobs.Strings{Cmds: cmds})})
		droveTime += time.Since(start)
		if rep.Succeeded != jobsN {
			b.Fatalf("drove ran %d of %d", rep.Succeeded, jobsN)
		}

		// bare loop, dial included as for drove
		start = time.Now()
		var left atomic.Int64
		left.Store(jobsN)
		var wg sync.WaitGroup
		for _, ts := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := dialTo(ts)(context.Background())
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				var inner sync.WaitGroup
				for range slots {
					inner.Add(1)
					go func() {
						defer inner.Done()
						for left.Add(-1) >= 0 {
							if err := bareRun(c); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				inner.Wait()
			}()
		}
		wg.Wait()
		bareTime += time.Since(start)
	}
	n := float64(b.N * jobsN)
	droveRate, bareRate := n/droveTime.Seconds(), n/bareTime.Seconds()
	b.ReportMetric(droveRate, "drove-jobs/s")
	b.ReportMetric(bareRate, "bare-jobs/s")
	b.ReportMetric(droveRate/bareRate, "drove/bare")
}

func bareRun(c *ssh.Client) error {
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run("true")
}

// BenchmarkSchedulerPerJob measures the pool's own cost per job, with
// in-memory hosts that succeed at once: ns/op and allocs/op are per job.
func BenchmarkSchedulerPerJob(b *testing.B) {
	fn := func(context.Context, string, string, io.Writer) error { return nil }
	b.ReportAllocs()
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{4, 4, 4, 4}, fn), Jobs: &repeatSource{n: b.N}})
	if rep.Succeeded != b.N {
		b.Fatalf("ran %d of %d", rep.Succeeded, b.N)
	}
}

// repeatSource yields n trivial jobs without holding them.
type repeatSource struct{ i, n int }

func (r *repeatSource) Next() (jobs.Job, error) {
	if r.i >= r.n {
		return jobs.Job{}, io.EOF
	}
	r.i++
	return jobs.Job{Seq: r.i, Cmd: "true"}, nil
}

// lineStream generates "echo job N\n" lines lazily, as a generator writing
// into a pipe would.
type lineStream struct {
	i, n int
	buf  []byte
}

func (l *lineStream) Read(p []byte) (int, error) {
	for len(l.buf) < len(p) && l.i < l.n {
		l.i++
		l.buf = fmt.Appendf(l.buf, "echo job %d\n", l.i)
	}
	if len(l.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, l.buf)
	l.buf = l.buf[k:]
	return k, nil
}

// BenchmarkStreamMillionJobs runs a 1,000,000-line job stream through the
// pool (in-memory hosts) and reports the peak heap in use while it runs:
// the goal is under 50 MB, i.e. memory does not grow with the stream.
func BenchmarkStreamMillionJobs(b *testing.B) {
	fn := func(context.Context, string, string, io.Writer) error { return nil }
	var peak atomic.Uint64
	for b.Loop() {
		runtime.GC()
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-t.C:
				case <-stop:
					return
				}
			}
		}()
		src := jobs.Concat(jobs.NewReader(&lineStream{n: 1_000_000}, "gen"))
		rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{8, 8}, fn), Jobs: src})
		close(stop)
		<-sampled
		if rep.Succeeded != 1_000_000 {
			b.Fatalf("ran %d", rep.Succeeded)
		}
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}
