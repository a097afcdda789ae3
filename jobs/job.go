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
// without a newline is still a job.
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
// jobs); it returns io.EOF at the end of the stream, or a *LineError.
func (r *Reader) Next() (Job, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return Job{}, err
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		return Job{Cmd: line, Origin: fmt.Sprintf("%s:%d", r.name, r.line)}, nil
	}
}

func (r *Reader) readLine() (string, error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.buf = append(r.buf, chunk...)
		if len(r.buf) > MaxLineBytes {
			r.line++
			return "", &LineError{File: r.name, Line: r.line, Err: fmt.Errorf("jobs: line longer than %d bytes", MaxLineBytes)}
		}
		switch {
		case err == nil:
			r.line++
			b := r.buf[:len(r.buf)-1]
			if n := len(b); n > 0 && b[n-1] == '\r' {
				b = b[:n-1]
			}
			return string(b), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(r.buf) == 0 {
				return "", io.EOF
			}
			r.line++
			return string(r.buf), nil
		default:
			return "", &LineError{File: r.name, Line: r.line + 1, Err: fmt.Errorf("jobs: read: %w", err)}
		}
	}
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
		if err != nil {
			return Job{}, err
		}
		c.seq++
		j.Seq = c.seq
		return j, nil
	}
	return Job{}, io.EOF
}
