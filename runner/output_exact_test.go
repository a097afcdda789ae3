package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
)

// writeChunks writes b to w in pieces of random sizes, as a session's
// copy would.
func writeChunks(w *LineWriter, b []byte, r *rand.Rand) {
	for len(b) > 0 {
		n := min(len(b), 1+r.IntN(64<<10))
		_, _ = w.Write(b[:n])
		b = b[n:]
	}
}

// exactInputs are job outputs that must come out unchanged.
func exactInputs(seed uint64) map[string][]byte {
	r := rand.New(rand.NewPCG(seed, seed))
	random := make([]byte, 3<<20)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	noNewline := bytes.ReplaceAll(random, []byte{'\n'}, []byte{'x'})
	return map[string][]byte{
		"random binary":              random,
		"2,500,000 zero bytes":       make([]byte, 2500000),
		"binary without newline":     noNewline,
		"text without final newline": []byte("line 1\nline 2\nlast"),
		"text":                       []byte("line 1\nline 2\n"),
		"empty":                      nil,
		"one newline":                []byte("\n"),
		"long line then short":       append(append(bytes.Repeat([]byte("y"), maxLine+5), '\n'), "short"...),
	}
}

// TestOutputIsByteExact: a job's bytes come out unchanged, whatever they
// are: no newline after maxLine bytes without one, none after a last line
// without one.
func TestOutputIsByteExact(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for name, in := range exactInputs(seed) {
		var buf bytes.Buffer
		w := NewOutput(&buf).Writer("")
		writeChunks(w, in, r)
		require.NoError(t, w.Close())
		require.True(t, bytes.Equal(in, buf.Bytes()), "%s: %d bytes in, %d out (seed %d)", name, len(in), buf.Len(), seed)
		require.EqualValues(t, len(in), w.Bytes())
	}
}

// TestCatFileThroughDroveIsFile is "drove -n 1/: -j 'cat FILE' > out": out
// is FILE, byte for byte.
func TestCatFileThroughDroveIsFile(t *testing.T) {
	dir := t.TempDir()
	for name, in := range exactInputs(7) {
		path := filepath.Join(dir, "f")
		require.NoError(t, os.WriteFile(path, in, 0o600))
		var buf bytes.Buffer
		ns := []Node{{Name: ":", Slots: 1, Connect: func(context.Context) (Host, error) { return &Local{}, nil }}}
		rep := Run(context.Background(), Config{Nodes: ns, Jobs: jobs.Concat(&jobs.Strings{Cmds: []string{"cat " + path}}), Stdout: NewOutput(&buf)})
		require.True(t, rep.OK(), name)
		require.True(t, bytes.Equal(in, buf.Bytes()), "%s: %d bytes in, %d out", name, len(in), buf.Len())
	}
}

// TestTagLastLineKeepsNoNewline: with a prefix, a last line without a
// newline gets the prefix and no newline; the next job's line starts on a
// line of its own.
func TestTagLastLineKeepsNoNewline(t *testing.T) {
	var buf bytes.Buffer
	out := NewOutput(&buf)
	a := out.Writer("a: ")
	_, _ = a.Write([]byte("one\ntwo"))
	require.NoError(t, a.Close())
	require.Equal(t, "a: one\na: two", buf.String())
	b := out.Writer("b: ")
	_, _ = b.Write([]byte("three\n"))
	require.NoError(t, b.Close())
	require.Equal(t, "a: one\na: two\nb: three\n", buf.String())
}

// TestOutputNeverMixesJobs: jobs writing at once, some lines far longer
// than maxLine, some last lines without newline, in random pieces: every
// line of the output is one job's line, with its prefix once, and each
// job's bytes are all there in order.
func TestOutputNeverMixesJobs(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	var buf bytes.Buffer
	out := NewOutput(&buf)
	const njobs = 6
	want := make([][]string, njobs)
	var wg sync.WaitGroup
	for j := range njobs {
		r := rand.New(rand.NewPCG(seed, uint64(j)))
		letter := string(rune('a' + j))
		var lines []string
		for range 1 + r.IntN(20) {
			n := r.IntN(200)
			if r.IntN(8) == 0 {
				n = maxLine + r.IntN(maxLine)
			}
			lines = append(lines, strings.Repeat(letter, n))
		}
		want[j] = lines
		text := strings.Join(lines, "\n")
		if r.IntN(2) == 0 {
			text += "\n"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := out.Writer(fmt.Sprintf("j%d: ", j))
			writeChunks(w, []byte(text), r)
			_ = w.Close()
		}()
	}
	wg.Wait()
	got := make([][]string, njobs)
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		var j int
		_, err := fmt.Sscanf(line, "j%d: ", &j)
		require.NoError(t, err, "line without a prefix (seed %d)", seed)
		body := strings.TrimPrefix(line, fmt.Sprintf("j%d: ", j))
		require.Equal(t, strings.Repeat(string(rune('a'+j)), len(body)), body, "mixed line (seed %d)", seed)
		got[j] = append(got[j], body)
	}
	for j := range njobs {
		require.Equal(t, want[j], got[j], "job %d (seed %d)", j, seed)
	}
}

// TestLongLinesOnTwoStreamsDoNotDeadlock: job A is in a long line on
// stdout and writes a line to stderr while job B is in a long line on
// stderr and writes a line to stdout. With a hold per Output, A waits for
// B's stderr line and B for A's stdout line, for ever; Run makes the two share one hold, so B waits
// and A goes on.
func TestLongLinesOnTwoStreamsDoNotDeadlock(t *testing.T) {
	var so, se bytes.Buffer
	stdout, stderr := NewOutput(&so), NewOutput(&se)
	h := twoStreamHost{stderr: stderr, aHolds: make(chan struct{})}
	ns := []Node{{Name: "n", Slots: 2, Connect: func(context.Context) (Host, error) { return h, nil }}}
	done := make(chan *Report, 1)
	go func() {
		done <- Run(context.Background(), Config{Nodes: ns, Jobs: jobs.Concat(&jobs.Strings{Cmds: []string{"A", "B"}}), Stdout: stdout, Stderr: stderr})
	}()
	select {
	case rep := <-done:
		require.True(t, rep.OK())
	case <-time.After(20 * time.Second):
		t.Fatal("deadlock: two jobs in long lines on two streams wait for each other")
	}
	big := maxLine + 10
	require.Equal(t, strings.Repeat("a", big)+"\n", so.String()[:big+1])
	require.Contains(t, so.String(), "\nb-out\n")
	require.Contains(t, se.String(), "a-err\n")
	require.Contains(t, se.String(), strings.Repeat("b", big)+"\n")
}

// twoStreamHost runs job A and job B of TestLongLinesOnTwoStreamsDoNotDeadlock.
type twoStreamHost struct {
	stderr *Output
	aHolds chan struct{} // closed once A is in its long line
}

func (h twoStreamHost) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	big := maxLine + 10
	switch cmd {
	case "A":
		_, _ = stdout.Write([]byte(strings.Repeat("a", big)))
		close(h.aHolds)
		// B is in its long line on stderr, or waiting for A: either way
		// someone holds stderr's hold.
		for !held(h.stderr) {
			time.Sleep(time.Millisecond)
		}
		_, _ = stderr.Write([]byte("a-err\n"))
		_, _ = stdout.Write([]byte("\n"))
	case "B":
		<-h.aHolds
		_, _ = stderr.Write([]byte(strings.Repeat("b", big)))
		_, _ = stdout.Write([]byte("b-out\n"))
		_, _ = stderr.Write([]byte("\n"))
	}
	return nil
}

func (twoStreamHost) Close() error { return nil }

func held(o *Output) bool {
	o.h.mu.Lock()
	defer o.h.mu.Unlock()
	return o.h.holder != nil
}
