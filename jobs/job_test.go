package jobs

import (
	"errors"
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

func TestReaderLongLineIsALineError(t *testing.T) {
	in := "ok\n" + strings.Repeat("x", MaxLineBytes+10) + "\n"
	got, err := readAll(t, NewReader(strings.NewReader(in), "big.txt"))
	require.Len(t, got, 1)
	var le *LineError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "big.txt", le.File)
	require.Equal(t, 2, le.Line)
	require.Contains(t, err.Error(), "big.txt:2: jobs: line longer than")
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
