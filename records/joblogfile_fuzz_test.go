package records

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/jobs"
)

// FuzzJobLogRoundTrip: a line FormatJobLogEntry writes reads back as the same entry
// (times to the millisecond, a newline in the command as itself), and a
// log of such lines with any torn tail counts that entry.
func FuzzJobLogRoundTrip(f *testing.F) {
	f.Add(1, ":", int64(1795930082138), int64(205), int64(6), 0, 0, "sleep 0.2; echo hello", "2\t:\t1.0")
	f.Add(7, "alice@web1:2222", int64(-1500), int64(0), int64(0), 143, 15, "a\tb\nc\\d", "")
	f.Add(-3, "[::1]:22", int64(0), int64(1<<40), int64(-1), -1, 9, "", "Seq")
	f.Fuzz(func(t *testing.T, seq int, host string, startMs, runtimeMs, receive int64, exit, sig int, cmd, torn string) {
		if host == "" || strings.ContainsAny(host, "\t\n") || strings.ContainsRune(cmd, 0) ||
			strings.Contains(torn, "\n") || startMs < -1<<50 || startMs > 1<<50 || runtimeMs < -1<<50 || runtimeMs > 1<<50/int64(time.Millisecond) {
			t.Skip()
		}
		e := JobLogEntry{Seq: seq, Host: host, Start: time.UnixMilli(startMs), Runtime: time.Duration(runtimeMs) * time.Millisecond,
			Receive: receive, Exitval: exit, Signal: sig, Command: cmd, Finished: true}
		line := FormatJobLogEntry(e)
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Fatalf("FormatJobLogEntry gave %q, not one line", line)
		}
		back, err := ParseJobLogEntry(strings.TrimSuffix(line, "\n"))
		if err != nil {
			t.Fatalf("ParseJobLogEntry(%q): %v", line, err)
		}
		if !back.Start.Equal(e.Start) {
			t.Fatalf("start %v read back as %v from %q", e.Start, back.Start, line)
		}
		back.Start = e.Start
		if back != e {
			t.Fatalf("%+v\nwritten as %q\nread back as %+v", e, line, back)
		}
		l, err := ParseJobLog(strings.NewReader(JobLogHeader+"\n"+line+torn), "log")
		if err != nil {
			t.Fatalf("log with torn tail %q: %v", torn, err)
		}
		fin, ok := l.Finished(cmd)
		if fin != 1 || ok != map[bool]int{true: 1, false: 0}[e.Succeeded()] {
			t.Fatalf("Finished(%q) = %d, %d", cmd, fin, ok)
		}
	})
}

// FuzzParseJobLog: any bytes give a JobLogSummary or a *jobs.LineError, never a panic;
// the counts a JobLogSummary gives are consistent; cutting the input after its last
// newline (a torn tail) never turns an accepted log into an error.
func FuzzParseJobLog(f *testing.F) {
	f.Add([]byte(JobLogHeader + "\n1\t:\t1795930082.138\t     0.002\t0\t2\t0\t0\techo a\n2\t:\t1.000\t1.000\t0\t0\t3\t0\texit 3\n"))
	f.Add([]byte(JobLogHeader + "\n" + JobLogHeader + "\n1\th\t1\t1\t0\t0\t0\t0\ta\tb\x00c\n1\th\t1\t1\t0\t0\t1\t0\ta\tb\x00c\n1\th"))
	f.Add([]byte("garbage\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := ParseJobLog(bytes.NewReader(in), "log")
		if err != nil {
			var le *jobs.LineError
			if !errors.As(err, &le) || le.Line < 1 || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not a one-line *jobs.LineError", err)
			}
			return
		}
		whole := in[:bytes.LastIndexByte(in, '\n')+1] // a torn last line does not count
		for _, line := range strings.Split(string(whole), "\n") {
			e, err := ParseJobLogEntry(line)
			if err != nil {
				continue
			}
			fin, ok := l.Finished(e.Command)
			if fin < 1 || ok > fin || (e.Succeeded() && ok < 1) {
				t.Fatalf("Finished(%q) = %d, %d after line %q", e.Command, fin, ok, line)
			}
		}
		if i := bytes.LastIndexByte(in, '\n'); i >= 0 {
			if _, err := ParseJobLog(bytes.NewReader(in[:i+1]), "log"); err != nil {
				t.Fatalf("the log without its last line fails: %v", err)
			}
		}
	})
}
