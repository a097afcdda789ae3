package jobs

import (
	"bufio"
	"bytes"
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
func (e Entry) Succeeded() bool { return e.Exitval == 0 && e.Signal == 0 }

// JobLog appends one line per finished job to a file in GNU parallel's
// --joblog format. Each line is written with a single write as the job
// ends, so the log survives a crash of drove: at worst the line of a job
// that was ending is missing or cut short, and resume runs that job again.
// Safe for concurrent use, and for several processes sharing one log: the
// file is locked (flock) while the header or a line is written.
type JobLog struct {
	mu sync.Mutex
	f  *os.File
}

// OpenJobLog opens path for appending. A new or empty file gets the header;
// a log whose last line was cut short (a writer killed mid-line) has that
// torn tail removed, so the next line starts a line of its own (a file that
// does not start with the header gets a newline instead: drove never
// removes what it cannot tell is a torn job log line). Two
// processes opening the same new log at once write one header between them.
func OpenJobLog(path string) (*JobLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jobs: joblog: %w", err)
	}
	if err := withLock(f, func() error { return repair(f) }); err != nil {
		f.Close()
		return nil, fmt.Errorf("jobs: joblog: %s: %w", path, err)
	}
	return &JobLog{f: f}, nil
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
			switch {
			case string(head) == JobLogHeader+"\n":
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

// Format returns e as one job log line, "\n" included, exactly as GNU
// parallel writes it: Starttime in seconds with 3 decimals, JobRuntime
// with 3 decimals right-aligned in 10 columns, Send always 0, and the
// command as is, except that each newline in it is written as a NUL byte
// (so that the line stays one line).
func Format(e Entry) string {
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

// Record appends e (see Format) with a single write.
func (l *JobLog) Record(e Entry) error {
	line := Format(e)
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
func (l *JobLog) Close() error { return l.f.Close() }

// Key identifies a job by its command text (a hash, so a log of millions of
// jobs stays small in memory).
type Key [16]byte

// KeyOf returns cmd's Key.
func KeyOf(cmd string) Key {
	h := sha256.Sum256([]byte(cmd))
	var k Key
	copy(k[:], h[:16])
	return k
}

// tally counts, for one command, the distinct jobs (by Seq) a log records.
type tally struct {
	finished  int32 // jobs that finished, whether they succeeded or not
	succeeded int32 // jobs that succeeded at least once
	seq       int   // the Seq of the first entry, while it is the only job
	ok        bool  // whether that job succeeded
}

// add counts one log entry for the command; more holds the jobs of the
// commands logged under more than one Seq (most logs have none).
func (t *tally) add(k Key, seq int, ok bool, more map[Key]map[int]bool) {
	if t.finished == 0 {
		*t = tally{finished: 1, seq: seq, ok: ok}
		if ok {
			t.succeeded = 1
		}
		return
	}
	jobs := more[k]
	if jobs == nil {
		if seq == t.seq {
			if ok && !t.ok {
				t.ok = true
				t.succeeded++
			}
			return
		}
		jobs = map[int]bool{t.seq: t.ok}
		more[k] = jobs
	}
	was, seen := jobs[seq]
	if !seen {
		t.finished++
	}
	if ok && !was {
		t.succeeded++
	}
	jobs[seq] = was || ok
}

// Log is what a job log records, command by command: how many distinct jobs
// with that command finished, and how many succeeded. Jobs are told apart by
// their Seq, so two identical command lines are two jobs, and a job logged
// twice (failed, then rerun by a resumed run) is one.
type Log struct {
	cmds map[Key]tally
}

// Finished returns how many distinct jobs running cmd the log records as
// finished, and how many of those succeeded.
func (l *Log) Finished(cmd string) (finished, succeeded int) {
	t := l.cmds[KeyOf(cmd)]
	return int(t.finished), int(t.succeeded)
}

// Skipper returns the test a resumed run applies to each job, in stream
// order: for each command, the first N jobs running it are skipped, where N
// is how many distinct jobs with that command the log records as finished
// (succeeded or failed for good), or, with retryFailed, as succeeded. Jobs
// are matched by command text and count, not line number, so a regenerated
// or reordered job list resumes correctly. The returned func is not safe
// for concurrent use.
func (l *Log) Skipper(retryFailed bool) func(Job) bool {
	left := make(map[Key]int, len(l.cmds))
	for k, t := range l.cmds {
		n := int(t.finished)
		if retryFailed {
			n = int(t.succeeded)
		}
		if n > 0 {
			left[k] = n
		}
	}
	return func(j Job) bool {
		k := KeyOf(j.Cmd)
		n := left[k]
		if n == 0 {
			return false
		}
		if n == 1 {
			delete(left, k)
		} else {
			left[k] = n - 1
		}
		return true
	}
}

// ReadJobLog reads a job log file written by drove or GNU parallel; a
// missing file is an empty log. See ParseJobLog.
func ReadJobLog(path string) (*Log, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Log{cmds: map[Key]tally{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: joblog: %w", err)
	}
	defer f.Close()
	return ParseJobLog(f, path)
}

// ParseJobLog reads a job log from r; name is used in errors. A header line
// is skipped wherever it is; a last line cut short (no final newline) is
// ignored, and its job runs again. Any other line that is not nine
// tab-separated fields with numeric Seq, Exitval and Signal is a *LineError
// naming its line. A NUL byte in the command is read back as a newline.
func ParseJobLog(r io.Reader, name string) (*Log, error) {
	more := map[Key]map[int]bool{}
	l := &Log{cmds: map[Key]tally{}}
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("jobs: joblog: %s: %w", name, err)
		}
		if !strings.HasSuffix(line, "\n") {
			// The end, or a line cut short by a crash: that job runs again.
			return l, nil
		}
		line = strings.TrimSuffix(line, "\n")
		if line == JobLogHeader {
			continue
		}
		e, perr := parseLine(line)
		if perr != nil {
			return nil, &LineError{File: name, Line: n, Err: perr}
		}
		k := KeyOf(e.Command)
		t := l.cmds[k]
		t.add(k, e.Seq, e.Succeeded(), more)
		l.cmds[k] = t
	}
}

// parseLine parses one job log line (without its newline). Only Seq,
// Exitval, Signal and Command must be well-formed (they are all resume
// needs); a Starttime, JobRuntime or Receive that is not a number is read
// as zero.
func parseLine(line string) (Entry, error) {
	f := strings.SplitN(line, "\t", 9)
	if len(f) != 9 {
		return Entry{}, errors.New("jobs: joblog: want 9 tab-separated fields")
	}
	seq, err0 := strconv.Atoi(f[0])
	exit, err1 := strconv.Atoi(f[6])
	sig, err2 := strconv.Atoi(f[7])
	if err0 != nil || err1 != nil || err2 != nil {
		return Entry{}, errors.New("jobs: joblog: bad Seq, Exitval or Signal")
	}
	e := Entry{Seq: seq, Host: f[1], Exitval: exit, Signal: sig, Command: strings.ReplaceAll(f[8], "\x00", "\n"), Finished: true}
	if ms, ok := millis(f[2]); ok {
		e.Start = time.UnixMilli(ms)
	}
	if ms, ok := millis(strings.TrimLeft(f[3], " ")); ok {
		e.Runtime = time.Duration(ms) * time.Millisecond
	}
	e.Receive, _ = strconv.ParseInt(f[5], 10, 64)
	return e, nil
}

// millis parses a decimal number of seconds with up to 3 decimals, such as
// "1700000000.250" or "-1.5", into milliseconds, exactly (no float).
func millis(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 3 || strings.Trim(frac, "0123456789") != "" {
		return 0, false
	}
	neg := strings.HasPrefix(whole, "-")
	w, err := strconv.ParseInt(strings.TrimPrefix(whole, "-"), 10, 64)
	if err != nil || w > 1<<50 {
		return 0, false
	}
	f, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
	ms := w*1000 + f
	if neg {
		ms = -ms
	}
	return ms, true
}

// ParseEntry parses one job log line, without its newline, as ParseJobLog
// reads it: the inverse of Format for entries whose times are whole
// milliseconds.
func ParseEntry(line string) (Entry, error) { return parseLine(line) }

// Skip is a Source that leaves out the jobs for which skip returns true,
// calling onSkip for each (for counting). Errors from src pass through with
// their job.
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
