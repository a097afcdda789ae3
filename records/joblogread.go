package records

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/drove-dev/drove/jobs"
)

// jobKey identifies a job by its command text (a hash, so a log of millions of
// jobs stays small in memory).
type jobKey [16]byte

// keyOf returns cmd's jobKey.
func keyOf(cmd string) jobKey {
	h := sha256.Sum256([]byte(cmd))
	var k jobKey
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
func (t *tally) add(k jobKey, seq int, ok bool, more map[jobKey]map[int]bool) {
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

// JobLogSummary is what a job log records, command by command: how many distinct jobs
// with that command finished, and how many succeeded. Jobs are told apart by
// their Seq, so two identical command lines are two jobs, and a job logged
// twice (failed, then rerun by a resumed run) is one.
type JobLogSummary struct {
	cmds map[jobKey]tally
}

// Finished returns how many distinct jobs running cmd the log records as
// finished, and how many of those succeeded.
func (l *JobLogSummary) Finished(cmd string) (finished, succeeded int) {
	t := l.cmds[keyOf(cmd)]
	return int(t.finished), int(t.succeeded)
}

// Skipper returns the test a resumed run applies to each job, in stream
// order: for each command, the first N jobs running it are skipped, where N
// is how many distinct jobs with that command the log records as finished
// (succeeded or failed for good), or, with retryFailed, as succeeded. Jobs
// are matched by command text and count, not line number, so a regenerated
// or reordered job list resumes correctly. The returned func is not safe
// for concurrent use.
func (l *JobLogSummary) Skipper(retryFailed bool) func(jobs.Job) bool {
	left := make(map[jobKey]int, len(l.cmds))
	for k, t := range l.cmds {
		n := int(t.finished)
		if retryFailed {
			n = int(t.succeeded)
		}
		if n > 0 {
			left[k] = n
		}
	}
	return func(j jobs.Job) bool {
		k := keyOf(j.Cmd)
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
func ReadJobLog(path string) (*JobLogSummary, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &JobLogSummary{cmds: map[jobKey]tally{}}, nil
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
// tab-separated fields with numeric Seq, Exitval and Signal is a *jobs.LineError
// naming its line. A NUL byte in the command is read back as a newline.
func ParseJobLog(r io.Reader, name string) (*JobLogSummary, error) {
	more := map[jobKey]map[int]bool{}
	l := &JobLogSummary{cmds: map[jobKey]tally{}}
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
			return nil, &jobs.LineError{File: name, Line: n, Err: perr}
		}
		k := keyOf(e.Command)
		t := l.cmds[k]
		t.add(k, e.Seq, e.Succeeded(), more)
		l.cmds[k] = t
	}
}

// parseLine parses one job log line (without its newline). Only Seq,
// Exitval, Signal and Command must be well-formed (they are all resume
// needs); a Starttime, JobRuntime or Receive that is not a number is read
// as zero.
func parseLine(line string) (JobLogEntry, error) {
	f := strings.SplitN(line, "\t", 9)
	if len(f) != 9 {
		return JobLogEntry{}, errors.New("jobs: joblog: want 9 tab-separated fields")
	}
	seq, err0 := strconv.Atoi(f[0])
	exit, err1 := strconv.Atoi(f[6])
	sig, err2 := strconv.Atoi(f[7])
	if err0 != nil || err1 != nil || err2 != nil {
		return JobLogEntry{}, errors.New("jobs: joblog: bad Seq, Exitval or Signal")
	}
	e := JobLogEntry{Seq: seq, Host: f[1], Exitval: exit, Signal: sig, Command: strings.ReplaceAll(f[8], "\x00", "\n"), Finished: true}
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

// ParseJobLogEntry parses one job log line, without its newline, as ParseJobLog
// reads it: the inverse of FormatJobLogEntry for entries whose times are whole
// milliseconds.
func ParseJobLogEntry(line string) (JobLogEntry, error) { return parseLine(line) }
