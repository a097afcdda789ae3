// Package jobs reads the jobs drove runs: commands given on the command line
// and job files read as streams, one command per line.
package jobs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Job is one shell command to run on some node.
type Job struct {
	Seq    int    // 1-based position among all jobs, in the order they arrived
	Cmd    string // the command, passed to the node's shell as is
	Origin string // where it came from: "jobs.txt:12" or "--job #2"
}

// Source yields jobs one at a time. Next returns io.EOF when there are no
// more; any other error ends the source too.
type Source interface {
	Next() (Job, error)
}

// MaxLineBytes is the longest job line a Reader accepts.
const MaxLineBytes = 1 << 20

// ErrLineTooLong is the reason in the *LineError a Reader returns for a line
// longer than MaxLineBytes. That error comes with the line's Job (Origin
// set, Cmd empty): the job never runs, and the stream goes on, so the
// caller lists it as not run and calls Next again.
var ErrLineTooLong = fmt.Errorf("jobs: line longer than %d bytes", MaxLineBytes)

// LineError is a job line that could not be read, with its file and line.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Reader streams jobs from r, one command per line. It holds at most one line
// in memory, so a generator that writes a million lines into a pipe is read as
// it writes them. A line ends at "\n" (a "\r" before it is dropped); lines
// that are empty or only white space are skipped, not run. A last line
// without a newline is still a job. Every other byte, NUL included, is kept
// as it is.
type Reader struct {
	name string
	br   *bufio.Reader
	line int
	buf  []byte
}

// NewReader returns a Reader over r; name is used in error messages.
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{name: name, br: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next non-blank line as a Job with Seq 0 (Concat numbers
// jobs); it returns io.EOF at the end of the stream. A line longer than
// MaxLineBytes gives its Job and a *LineError wrapping ErrLineTooLong, and
// the stream goes on; any other error is a *LineError that ends it.
func (r *Reader) Next() (Job, error) {
	for {
		line, err := r.readLine()
		if errors.Is(err, ErrLineTooLong) {
			return Job{Origin: r.origin()}, err
		}
		if err != nil {
			return Job{}, err
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		return Job{Cmd: line, Origin: r.origin()}, nil
	}
}

func (r *Reader) origin() string { return fmt.Sprintf("%s:%d", r.name, r.line) }

// readLine returns the next line without its "\n" or "\r\n". It holds at
// most MaxLineBytes+2 bytes: the rest of a longer line is read and dropped,
// and the line is reported as too long.
func (r *Reader) readLine() (string, error) {
	r.buf = r.buf[:0]
	var dropped int64 // bytes of a line too long to hold
	for {
		chunk, err := r.br.ReadSlice('\n')
		if dropped == 0 && len(r.buf)+len(chunk) <= MaxLineBytes+2 {
			r.buf = append(r.buf, chunk...)
		} else {
			dropped += int64(len(r.buf) + len(chunk))
			r.buf = r.buf[:0]
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && !errors.Is(err, io.EOF):
			return "", &LineError{File: r.name, Line: r.line + 1, Err: fmt.Errorf("jobs: read: %w", err)}
		case err != nil && len(r.buf) == 0 && dropped == 0:
			return "", io.EOF
		}
		r.line++
		if dropped > 0 {
			if err == nil {
				dropped-- // the newline
			}
			return "", r.tooLong(dropped)
		}
		b := r.buf
		if err == nil {
			b = b[:len(b)-1]
			if n := len(b); n > 0 && b[n-1] == '\r' {
				b = b[:n-1]
			}
		}
		if len(b) > MaxLineBytes {
			return "", r.tooLong(int64(len(b)))
		}
		return string(b), nil
	}
}

func (r *Reader) tooLong(n int64) error {
	return &LineError{File: r.name, Line: r.line, Err: fmt.Errorf("%w (%d); not run", ErrLineTooLong, n)}
}

// Strings is a Source over commands given on the command line (--job);
// blank ones are skipped like blank lines.
type Strings struct {
	Cmds []string
	Name string // used in Origin: "NAME #i"
	i    int
}

// Next returns the next command.
func (s *Strings) Next() (Job, error) {
	for s.i < len(s.Cmds) {
		s.i++
		if strings.TrimSpace(s.Cmds[s.i-1]) != "" {
			return Job{Cmd: s.Cmds[s.i-1], Origin: fmt.Sprintf("%s #%d", s.Name, s.i)}, nil
		}
	}
	return Job{}, io.EOF
}

// Concat reads each source to its end in turn and numbers the jobs 1, 2, ...
// in that order.
func Concat(srcs ...Source) Source {
	return &concat{srcs: srcs}
}

type concat struct {
	srcs []Source
	seq  int
}

func (c *concat) Next() (Job, error) {
	for len(c.srcs) > 0 {
		j, err := c.srcs[0].Next()
		if errors.Is(err, io.EOF) {
			c.srcs = c.srcs[1:]
			continue
		}
		if errors.Is(err, ErrLineTooLong) {
			c.seq++
			j.Seq = c.seq
			return j, err
		}
		if err != nil {
			return Job{}, err
		}
		c.seq++
		j.Seq = c.seq
		return j, nil
	}
	return Job{}, io.EOF
}
