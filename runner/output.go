package runner

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// Output is a destination shared by many jobs (drove's stdout, or a file)
// that receives whole lines only: lines of two jobs never mix inside a line.
type Output struct {
	mu   sync.Mutex
	w    io.Writer
	bufs sync.Pool // read buffers for LineWriter.ReadFrom
}

// NewOutput wraps w; nil means discard.
func NewOutput(w io.Writer) *Output {
	if w == nil {
		w = io.Discard
	}
	return &Output{w: w}
}

// maxLine is how much of a line without a newline is held before it is
// written anyway; a longer line is the one case that can be split.
const maxLine = 1 << 20

// LineWriter collects one job's stream and passes it to an Output a whole
// line at a time, each prefixed with prefix (for --tag). It is streamed:
// every complete line is written as soon as it arrives. Close writes a last
// line that had no newline, adding one so the next job's line starts clean.
type LineWriter struct {
	out    *Output
	prefix []byte
	buf    []byte
	n      int64     // bytes received
	tee    io.Writer // also gets every byte as it arrives (--results); may be nil
}

// Writer returns a LineWriter for one job on o.
func (o *Output) Writer(prefix string) *LineWriter {
	return &LineWriter{out: o, prefix: []byte(prefix)}
}

// Write never fails for the job: an error of the destination is the run's
// problem, not the job's.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.n += int64(len(p))
	if l.tee != nil {
		_, _ = l.tee.Write(p)
	}
	l.buf = append(l.buf, p...)
	end := bytes.LastIndexByte(l.buf, '\n')
	if end < 0 {
		if len(l.buf) >= maxLine {
			l.flush(l.buf, true)
			l.buf = l.buf[:0]
		}
		return len(p), nil
	}
	l.flush(l.buf[:end+1], false)
	rest := copy(l.buf, l.buf[end+1:])
	l.buf = l.buf[:rest]
	return len(p), nil
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

func (l *LineWriter) flush(lines []byte, addNewline bool) {
	var b []byte
	if len(l.prefix) == 0 {
		b = lines
		if addNewline {
			b = append(append([]byte(nil), lines...), '\n')
		}
	} else {
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
		if addNewline {
			b = append(b, '\n')
		}
	}
	l.out.mu.Lock()
	_, _ = l.out.w.Write(b)
	l.out.mu.Unlock()
}

// Close writes what is left of a last line without a newline.
func (l *LineWriter) Close() error {
	if len(l.buf) > 0 {
		l.flush(l.buf, true)
		l.buf = l.buf[:0]
	}
	return nil
}
