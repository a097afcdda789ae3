package runner

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// Output is a destination shared by many jobs (drove's stdout, or a file).
// It passes on every byte of every job unchanged, and never mixes two
// jobs' bytes inside a line:
//
//   - a job's complete lines are written whole, at once;
//   - a line longer than maxLine is not held in memory: once that much of
//     it has arrived the job takes hold of the Output, writes the line as
//     it comes, and lets go when its newline arrives (or the job ends);
//     other jobs' lines wait meanwhile;
//   - a job's last line without a newline is written as it is, without
//     one; if another job writes next, a newline is written between them
//     first (it belongs to neither job: a single job's output, say
//     "drove -n 1/: -j 'cat FILE'", is FILE byte for byte).
//
// With a prefix (--tag) every line, a last one without newline included,
// starts with the prefix; a line written in pieces gets it once.
//
// Run makes its Stdout and Stderr share one hold: at most one job at a
// time holds either, so two jobs each in a long line on a different
// stream never wait for each other.
//
// A write error of the destination (a full disk, a closed file) is never
// the job's: the job goes on. The Output keeps the first error, reports it
// once to the function given to OnError, and writes nothing more after it
// (a file with a hole in it would look whole); Failed tells the error and
// how many jobs' output did not all reach the destination.
type Output struct {
	h       *hold
	mu      sync.Mutex // taken after h.mu, never before
	w       io.Writer
	midLine bool     // the last byte written was not a newline
	last    *jobMark // whose it was
	bufs    sync.Pool
	err     error       // the first write error; nothing is written after it
	onErr   func(error) // told of err once, as it happens; may be nil
	lost    int         // jobs (LineWriters) whose bytes were not all written
}

// hold says which job, if any, holds its Outputs across a long line.
type hold struct {
	mu     sync.Mutex
	free   *sync.Cond // signalled when holder lets go
	holder *jobMark
	holds  int // how many of its writers hold it
}

func newHold() *hold {
	h := &hold{}
	h.free = sync.NewCond(&h.mu)
	return h
}

// shareHold makes o and other share one hold; no job may be writing.
func (o *Output) shareHold(other *Output) {
	if o != other {
		o.h = other.h
	}
}

// jobMark tells one job attempt's writers apart from other jobs': its
// stdout and stderr writers share one, so a job whose two streams go to
// the same Output never waits for itself.
type jobMark struct{ _ byte } // not zero-size: each must have its own address

// OnError sets the function told of the first write error, once, when it
// happens (under the Output's lock: f must not write to this Output). Set it
// before any job writes.
func (o *Output) OnError(f func(error)) { o.onErr = f }

// Failed returns the first write error of the destination (nil if every
// byte was written) and how many jobs' output was lost in whole or part.
// Call it after the run.
func (o *Output) Failed() (error, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err, o.lost
}

// NewOutput wraps w; nil means discard.
func NewOutput(w io.Writer) *Output {
	if w == nil {
		w = io.Discard
	}
	return &Output{w: w, h: newHold()}
}

// maxLine is how much of a line without a newline is held before the job
// takes hold of the Output and writes it as it comes.
const maxLine = 1 << 20

// LineWriter collects one job's stream and passes it to an Output a whole
// line at a time, each prefixed with prefix (for --tag). It is streamed:
// every complete line is written as soon as it arrives. Close writes a last
// line that had no newline, as it is.
type LineWriter struct {
	out     *Output
	mark    *jobMark
	prefix  []byte
	buf     []byte
	holding bool      // in a long line, holding out
	lost    bool      // some of its bytes did not reach the destination
	n       int64     // bytes received
	tee     io.Writer // also gets every byte as it arrives (--results); may be nil
}

// Writer returns a LineWriter for one job on o.
func (o *Output) Writer(prefix string) *LineWriter {
	return &LineWriter{out: o, mark: &jobMark{}, prefix: []byte(prefix)}
}

// pair makes l a writer of the same job as other (its other stream).
func (l *LineWriter) pair(other *LineWriter) { l.mark = other.mark }

// lock waits until no other job holds o, and locks it; with take, m
// takes the hold.
func (o *Output) lock(m *jobMark, take bool) {
	o.h.mu.Lock()
	for o.h.holder != nil && o.h.holder != m {
		o.h.free.Wait()
	}
	if take {
		o.h.holder = m
		o.h.holds++
	}
	o.mu.Lock()
	o.h.mu.Unlock()
}

// write writes b for l's job; o is locked. Once the destination has
// failed nothing more is written, and l's job is counted as lost.
func (o *Output) write(l *LineWriter, b []byte) {
	if len(b) == 0 {
		return
	}
	if o.err == nil && o.midLine && o.last != l.mark {
		o.check(o.w.Write([]byte{'\n'}))
	}
	if o.err == nil {
		o.check(o.w.Write(b))
		o.midLine = b[len(b)-1] != '\n'
		o.last = l.mark
	}
	if o.err != nil && !l.lost {
		l.lost = true
		o.lost++
	}
}

// check records the first write error (a short write is one); o is locked.
func (o *Output) check(_ int, err error) {
	if err == nil || o.err != nil {
		return
	}
	o.err = err
	if o.onErr != nil {
		o.onErr(err)
	}
}

// Write never fails for the job: an error of the destination is the run's
// problem, not the job's.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.n += int64(len(p))
	if l.tee != nil {
		_, _ = l.tee.Write(p)
	}
	rest := p
	if l.holding {
		// The rest of a long line goes straight through, up to its end.
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			l.out.mu.Lock()
			l.out.write(l, rest)
			l.out.mu.Unlock()
			return len(p), nil
		}
		l.out.mu.Lock()
		l.out.write(l, rest[:i+1])
		l.out.mu.Unlock()
		l.release()
		rest = rest[i+1:]
	}
	l.buf = append(l.buf, rest...)
	end := bytes.LastIndexByte(l.buf, '\n')
	if end >= 0 {
		l.flush(l.buf[:end+1], false)
		n := copy(l.buf, l.buf[end+1:])
		l.buf = l.buf[:n]
	}
	if len(l.buf) >= maxLine {
		l.flush(l.buf, true)
		l.buf = l.buf[:0]
	}
	return len(p), nil
}

// release lets go of the hold.
func (l *LineWriter) release() {
	l.holding = false
	h := l.out.h
	h.mu.Lock()
	if h.holds--; h.holds == 0 {
		h.holder = nil
		h.free.Broadcast()
	}
	h.mu.Unlock()
}

// ReadFrom copies r to the writer through a buffer borrowed from the
// Output, so the per-session copies of x/crypto/ssh (io.Copy) do not each
// allocate one of their own.
func (l *LineWriter) ReadFrom(r io.Reader) (int64, error) {
	bp, _ := l.out.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 16<<10)
		bp = &b
	}
	defer l.out.bufs.Put(bp)
	var total int64
	for {
		n, err := r.Read(*bp)
		if n > 0 {
			total += int64(n)
			_, _ = l.Write((*bp)[:n])
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Bytes reports how many bytes the job wrote.
func (l *LineWriter) Bytes() int64 { return l.n }

// flush writes lines, each with the prefix; hold says the last one is the
// start of a long line, and the writer takes hold of the Output.
func (l *LineWriter) flush(lines []byte, hold bool) {
	b := lines
	if len(l.prefix) > 0 {
		b = nil
		for len(lines) > 0 {
			i := bytes.IndexByte(lines, '\n')
			line := lines
			if i >= 0 {
				line, lines = lines[:i+1], lines[i+1:]
			} else {
				lines = nil
			}
			b = append(b, l.prefix...)
			b = append(b, line...)
		}
	}
	l.out.lock(l.mark, hold)
	l.out.write(l, b)
	l.out.mu.Unlock()
	if hold {
		l.holding = true
	}
}

// Close writes what is left of a last line without a newline, as it is,
// and lets go of the Output.
func (l *LineWriter) Close() error {
	if len(l.buf) > 0 {
		l.flush(l.buf, false)
		l.buf = l.buf[:0]
	}
	if l.holding {
		l.release()
	}
	return nil
}
