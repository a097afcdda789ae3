package termview

import (
	"encoding/binary"
	"flag"
	"io"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/jobs"
)

var (
	benchGatherJobs = flag.Int("gather.jobs", 400, "BenchmarkGather: jobs (nodes)")
	benchGatherSize = flag.Int("gather.size", 256<<10, "BenchmarkGather: bytes of stdout per job")
)

// BenchmarkGather feeds -gather.jobs jobs of -gather.size bytes of stdout
// each through a Gather as the runner does (16 jobs at once, 32 KiB writes,
// the SSH channel's packet size), then prints the groups. It reports, as
// ratios to the total output: held/out, the live heap once every job has
// ended (after a GC, before printing), and peak/out, the most heap in use
// seen during the run and the printing (sampled every 2 ms; it includes
// garbage the collector has not yet freed). "identical" gives every job the
// same output, "distinct" a different one each.
//
//	go test -run '^$' -bench Gather -benchtime 1x ./termview/
func BenchmarkGather(b *testing.B) {
	for _, c := range []struct {
		name     string
		distinct bool
	}{{"identical", false}, {"distinct", true}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				benchGather(b, *benchGatherJobs, *benchGatherSize, c.distinct)
			}
		})
	}
}

func benchGather(b *testing.B, njobs, size int, distinct bool) {
	b.Helper()
	total := float64(njobs) * float64(size)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	baseAlloc := ms.HeapAlloc

	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var m runtime.MemStats
		var top uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			top = max(top, m.HeapInuse)
			select {
			case <-stop:
				peak <- top
				return
			case <-tick.C:
			}
		}
	}()

	g := NewGather()
	seqs := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := make([]byte, 32<<10)
			for seq := range seqs {
				so, _, done := g.JobOutput(jobs.Job{Seq: seq}, 1, "node"+strconv.Itoa(seq))
				for off := 0; off < size; off += len(chunk) {
					n := min(len(chunk), size-off)
					fill(chunk[:n], off, seq, distinct)
					if _, err := so.Write(chunk[:n]); err != nil {
						b.Error(err)
					}
				}
				done(nil)
			}
		}()
	}
	for seq := 1; seq <= njobs; seq++ {
		seqs <- seq
	}
	close(seqs)
	wg.Wait()

	runtime.GC()
	runtime.ReadMemStats(&ms)
	held := float64(ms.HeapAlloc) - float64(baseAlloc)
	cw := &countWriter{}
	if err := g.Print(cw, ""); err != nil {
		b.Fatal(err)
	}
	close(stop)
	top := <-peak
	if cw.n < int64(size) {
		b.Fatalf("printed %d bytes, want at least %d", cw.n, size)
	}
	runtime.KeepAlive(g)
	b.ReportMetric(total/(1<<20), "out-MiB")
	b.ReportMetric(held/total, "held/out")
	b.ReportMetric((float64(top)-float64(base))/total, "peak/out")
}

// fill writes the bytes at offset off of a job's output: a text pattern,
// stamped every 64 bytes with the job's number when distinct.
func fill(p []byte, off, seq int, distinct bool) {
	for i := range p {
		p[i] = 'a' + byte((off+i)%26)
		if (off+i)%64 == 63 {
			p[i] = '\n'
		}
	}
	if !distinct {
		return
	}
	for i := (64 - off%64) % 64; i+8 <= len(p); i += 64 {
		binary.BigEndian.PutUint64(p[i:], uint64(seq))
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)
