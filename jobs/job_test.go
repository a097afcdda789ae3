package jobs

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func readAll(t *testing.T, s Source) ([]Job, error) {
	t.Helper()
	var out []Job
	for {
		j, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, j)
	}
}

func TestReaderSkipsBlankLinesAndKeepsOrigins(t *testing.T) {
	in := "echo a\n\n   \necho 'b c'\r\n\techo d\necho last"
	got, err := readAll(t, Concat(NewReader(strings.NewReader(in), "jobs.txt")))
	require.NoError(t, err)
	require.Equal(t, []Job{
		{Seq: 1, Cmd: "echo a", Origin: "jobs.txt:1"},
		{Seq: 2, Cmd: "echo 'b c'", Origin: "jobs.txt:4"},
		{Seq: 3, Cmd: "\techo d", Origin: "jobs.txt:5"},
		{Seq: 4, Cmd: "echo last", Origin: "jobs.txt:6"},
	}, got)
}

func TestConcatNumbersAcrossSources(t *testing.T) {
	s := Concat(&Strings{Cmds: []string{"a", " ", "b,c"}, Name: "--job"}, NewReader(strings.NewReader("d\n"), "f"))
	got, err := readAll(t, s)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, Job{Seq: 2, Cmd: "b,c", Origin: "--job #3"}, got[1])
	require.Equal(t, Job{Seq: 3, Cmd: "d", Origin: "f:1"}, got[2])
}

// Issue 11 defect 6: a line over the limit is reported, with its file and
// line, as a job that never runs, and the stream goes on after it.
func TestReaderLongLineIsReportedAndReadingGoesOn(t *testing.T) {
	for _, tc := range []struct {
		name, long string
		size       int
	}{
		{"one over", strings.Repeat("x", MaxLineBytes+1), MaxLineBytes + 1},
		{"huge", strings.Repeat("y", 3*MaxLineBytes+7), 3*MaxLineBytes + 7},
		{"one over with CRLF", strings.Repeat("z", MaxLineBytes+1) + "\r", MaxLineBytes + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := "ok\n" + tc.long + "\nafter\n" + strings.Repeat("w", MaxLineBytes+5)
			s := Concat(&Strings{Cmds: []string{"first"}, Name: "--job"}, NewReader(strings.NewReader(in), "big.txt"))
			var got []Job
			var errs []error
			for {
				j, err := s.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					require.ErrorIs(t, err, ErrLineTooLong)
					errs = append(errs, err)
				}
				got = append(got, j)
			}
			require.Equal(t, []Job{
				{Seq: 1, Cmd: "first", Origin: "--job #1"},
				{Seq: 2, Cmd: "ok", Origin: "big.txt:1"},
				{Seq: 3, Origin: "big.txt:2"},
				{Seq: 4, Cmd: "after", Origin: "big.txt:3"},
				{Seq: 5, Origin: "big.txt:4"},
			}, got)
			require.Len(t, errs, 2)
			var le *LineError
			require.ErrorAs(t, errs[0], &le)
			require.Equal(t, "big.txt", le.File)
			require.Equal(t, 2, le.Line)
			require.Equal(t, fmt.Sprintf("big.txt:2: jobs: line longer than %d bytes (%d); not run", MaxLineBytes, tc.size), errs[0].Error())
			require.Contains(t, errs[1].Error(), "big.txt:4: ")
		})
	}
}

func TestReaderLongestLineFits(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes)
	for _, in := range []string{long + "\nb\n", long + "\r\nb", "b\n" + long} {
		got, err := readAll(t, NewReader(strings.NewReader(in), "f"))
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Contains(t, []string{got[0].Cmd, got[1].Cmd}, long)
	}
}

// Issue 11 defect 6: the reader keeps a NUL byte (and any other byte) as
// data; refusing to run such a job is the runner's business.
func TestReaderKeepsNULAndOddBytes(t *testing.T) {
	in := "echo a\x00b\n\x00\n\xff\xfe \x1b[31m\techo\r\n"
	got, err := readAll(t, NewReader(strings.NewReader(in), "f"))
	require.NoError(t, err)
	require.Equal(t, []Job{
		{Cmd: "echo a\x00b", Origin: "f:1"},
		{Cmd: "\x00", Origin: "f:2"},
		{Cmd: "\xff\xfe \x1b[31m\techo", Origin: "f:3"},
	}, got)
}

// TestReaderStreams proves a job is returned while its writer is still open:
// the writer sends the second line only after the test has the first job, so
// a reader that waited for more input (or for EOF) would never return.
func TestReaderStreams(t *testing.T) {
	pr, pw := io.Pipe()
	r := NewReader(pr, "pipe")
	gotFirst := make(chan struct{})
	go func() {
		_, _ = pw.Write([]byte("first\n"))
		<-gotFirst
		_, _ = pw.Write([]byte("second\n"))
		_ = pw.Close()
	}()
	next := make(chan Job, 1)
	go func() {
		j, _ := r.Next()
		next <- j
	}()
	select {
	case j := <-next:
		require.Equal(t, "first", j.Cmd)
	case <-time.After(10 * time.Second):
		close(gotFirst)
		t.Fatal("first job not returned while the stream was open")
	}
	close(gotFirst)
	j, err := r.Next()
	require.NoError(t, err)
	require.Equal(t, "second", j.Cmd)
	_, err = r.Next()
	require.ErrorIs(t, err, io.EOF)
}
