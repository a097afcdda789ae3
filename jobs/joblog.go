package jobs

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// JobLogHeader is the first line of a job log: GNU parallel's --joblog
// columns, tab-separated.
const JobLogHeader = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand"

// Entry is one finished job in a job log.
type Entry struct {
	Seq      int
	Host     string
	Start    time.Time
	Runtime  time.Duration
	Receive  int64 // bytes the job wrote to stdout
	Exitval  int
	Signal   int // signal number, 0 when it exited
	Command  string
	Finished bool // false for jobs that never ran to an end (not logged)
}

// Succeeded reports whether the entry records a success.
func (e Entry) Succeeded() bool { return e.Exitval == 0 && e.Signal == 0 }

// JobLog appends one line per finished job to a file in GNU parallel's
// --joblog format. Each line is written with a single write as the job
// ends, so the log survives a crash of drove: at worst the line of a job
// that was ending is missing, and resume runs it again. Safe for
// concurrent use.
type JobLog struct {
	mu sync.Mutex
	f  *os.File
}

// OpenJobLog opens path for appending, writing the header when the file is
// new or empty.
func OpenJobLog(path string) (*JobLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jobs: joblog: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("jobs: joblog: %w", err)
	}
	if st.Size() == 0 {
		if _, err := f.WriteString(JobLogHeader + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("jobs: joblog: %w", err)
		}
	}
	return &JobLog{f: f}, nil
}

// Record appends e. A command with tabs or newlines is written with them
// escaped as GNU parallel does not; drove reads them back the same way.
func (l *JobLog) Record(e Entry) error {
	line := fmt.Sprintf("%d\t%s\t%.3f\t%.3f\t%d\t%d\t%d\t%d\t%s\n",
		e.Seq, e.Host, float64(e.Start.UnixNano())/1e9, e.Runtime.Seconds(), 0, e.Receive, e.Exitval, e.Signal, escapeCmd(e.Command))
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.WriteString(line); err != nil {
		return fmt.Errorf("jobs: joblog: %w", err)
	}
	return nil
}

// Close closes the file.
func (l *JobLog) Close() error { return l.f.Close() }

func escapeCmd(s string) string {
	if !strings.ContainsAny(s, "\\\t\n\r") {
		return s
	}
	r := strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	return r.Replace(s)
}

func unescapeCmd(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// Key identifies a job by its command text (a hash, so a log of millions of
// jobs stays small in memory). Resuming matches jobs by Key, not by line
// number, so a regenerated or reordered job list resumes correctly.
type Key [16]byte

// KeyOf returns cmd's Key.
func KeyOf(cmd string) Key {
	h := sha256.Sum256([]byte(cmd))
	var k Key
	copy(k[:], h[:16])
	return k
}

// Outcomes is what a job log says about each command: true when it
// succeeded (at least once), false when it only failed.
type Outcomes map[Key]bool

// ReadJobLog reads a job log written by drove (or GNU parallel). A missing
// file is an empty log. A malformed line is an error naming its line.
func ReadJobLog(path string) (Outcomes, error) {
	out := Outcomes{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: joblog: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("jobs: joblog: %w", err)
		}
		if !strings.HasSuffix(line, "\n") {
			// A line cut short by a crash: that job is simply run again.
			return out, nil
		}
		line = strings.TrimSuffix(line, "\n")
		if n == 1 && strings.HasPrefix(line, "Seq\t") {
			continue
		}
		f := strings.SplitN(line, "\t", 9)
		if len(f) != 9 {
			return nil, &LineError{File: path, Line: n, Err: errors.New("jobs: joblog: want 9 tab-separated fields")}
		}
		exit, err1 := strconv.Atoi(f[6])
		sig, err2 := strconv.Atoi(f[7])
		if err1 != nil || err2 != nil {
			return nil, &LineError{File: path, Line: n, Err: errors.New("jobs: joblog: bad Exitval or Signal")}
		}
		k := KeyOf(unescapeCmd(f[8]))
		out[k] = out[k] || (exit == 0 && sig == 0)
	}
}

// Skip is a Source that leaves out the jobs for which skip returns true,
// calling onSkip for each (for counting).
func Skip(src Source, skip func(Job) bool, onSkip func(Job)) Source {
	return &skipper{src: src, skip: skip, onSkip: onSkip}
}

type skipper struct {
	src    Source
	skip   func(Job) bool
	onSkip func(Job)
}

func (s *skipper) Next() (Job, error) {
	for {
		j, err := s.src.Next()
		if err != nil || !s.skip(j) {
			return j, err
		}
		if s.onSkip != nil {
			s.onSkip(j)
		}
	}
}
