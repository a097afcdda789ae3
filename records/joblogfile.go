package records

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// JobLogHeader is the first line of a job log: GNU parallel's --joblog
// columns, tab-separated.
const JobLogHeader = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand"

// JobLogEntry is one finished job in a job log.
type JobLogEntry struct {
	Seq      int
	Host     string // ":" for this machine, as GNU parallel writes it
	Start    time.Time
	Runtime  time.Duration
	Receive  int64 // bytes the job wrote to stdout
	Exitval  int
	Signal   int // signal number, 0 when it exited
	Command  string
	Finished bool // false for jobs that never ran to an end (not logged)
}

// Succeeded reports whether the entry records a success.
func (e JobLogEntry) Succeeded() bool { return e.Exitval == 0 && e.Signal == 0 }

// JobLogFile appends one line per finished job to a file in GNU parallel's
// --joblog format. Each line is written with a single write as the job
// ends, so the log survives a crash of drove: at worst the line of a job
// that was ending is missing or cut short, and resume runs that job again.
// Safe for concurrent use, and for several processes sharing one log: the
// file is locked (flock) while the header or a line is written.
type JobLogFile struct {
	mu sync.Mutex
	f  *os.File
}

// OpenJobLog opens path for appending. A new or empty file gets the header;
// a log whose last line was cut short (a writer killed mid-line) has that
// torn tail removed, so the next line starts a line of its own (a file that
// does not start with the header gets a newline instead: drove never
// removes what it cannot tell is a torn job log line). Two
// processes opening the same new log at once write one header between them.
func OpenJobLog(path string) (*JobLogFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jobs: joblog: %w", err)
	}
	if err := withLock(f, func() error { return repair(f) }); err != nil {
		f.Close()
		return nil, fmt.Errorf("jobs: joblog: %s: %w", path, err)
	}
	return &JobLogFile{f: f}, nil
}

// couldBeTornRecord says whether tail, an unterminated last line, can be
// the start of a job log record cut short by a crash: each of its
// tab-separated fields holds only what that field can hold. Anything else
// is not drove's to cut: it is kept, and ends a line of its own.
func couldBeTornRecord(tail string) bool {
	const digits = "-0123456789"
	allowed := []string{digits, "", " .-0123456789", " .-0123456789", digits, digits, digits, digits, ""}
	f := strings.SplitN(tail, "\t", 9)
	for i, v := range f {
		if allowed[i] != "" && strings.Trim(v, allowed[i]) != "" {
			return false
		}
		if strings.Contains(v, "\n") {
			return false
		}
	}
	return true
}

// repair writes the header to an empty log and cuts a torn last line. It
// cuts only from a file that starts with the header (or is a torn header):
// in any other file, a last line without a newline is ended with one, and
// nothing is removed.
func repair(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size > 0 && st.Mode().IsRegular() {
		keep, err := endOfLastLine(f, size)
		if err != nil {
			return err
		}
		if keep < size {
			head := make([]byte, min(size, int64(len(JobLogHeader)+1)))
			if _, err := f.ReadAt(head, 0); err != nil {
				return err
			}
			tail := make([]byte, size-keep)
			if _, err := f.ReadAt(tail, keep); err != nil {
				return err
			}
			switch {
			case string(head) == JobLogHeader+"\n" && couldBeTornRecord(string(tail)):
				err = f.Truncate(keep)
			case strings.HasPrefix(JobLogHeader, string(head)) && keep == 0:
				err = f.Truncate(0)
			default:
				_, err = f.WriteString("\n")
				keep = size + 1
			}
			if err != nil {
				return err
			}
		}
		size = keep
	}
	if size == 0 {
		_, err = f.WriteString(JobLogHeader + "\n")
	}
	return err
}

// endOfLastLine returns the offset just past the last "\n" in the first
// size bytes of f (0 when there is none).
func endOfLastLine(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// FormatJobLogEntry returns e as one job log line, "\n" included, exactly as GNU
// parallel writes it: Starttime in seconds with 3 decimals, JobRuntime
// with 3 decimals right-aligned in 10 columns, Send always 0, and the
// command as is, except that each newline in it is written as a NUL byte
// (so that the line stays one line).
func FormatJobLogEntry(e JobLogEntry) string {
	start := e.Start.Round(time.Millisecond).UnixMilli()
	runtime := e.Runtime.Round(time.Millisecond).Milliseconds()
	return fmt.Sprintf("%d\t%s\t%s\t%10s\t%d\t%d\t%d\t%d\t%s\n",
		e.Seq, e.Host, seconds(start), seconds(runtime), 0, e.Receive, e.Exitval, e.Signal,
		strings.ReplaceAll(e.Command, "\n", "\x00"))
}

// seconds formats ms milliseconds as seconds with 3 decimals, as "%.3f"
// does, without going through a float.
func seconds(ms int64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// Record appends e (see FormatJobLogEntry) with a single write.
func (l *JobLogFile) Record(e JobLogEntry) error {
	line := FormatJobLogEntry(e)
	l.mu.Lock()
	defer l.mu.Unlock()
	err := withLock(l.f, func() error {
		_, err := l.f.WriteString(line)
		return err
	})
	if err != nil {
		return fmt.Errorf("jobs: joblog: %w", err)
	}
	return nil
}

// Close closes the file.
func (l *JobLogFile) Close() error { return l.f.Close() }
