package runner

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLineWriterKeepsLinesWhole(t *testing.T) {
	var buf bytes.Buffer
	out := NewOutput(&buf)
	const jobs, lines = 8, 200
	var wg sync.WaitGroup
	for j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := out.Writer(fmt.Sprintf("n%d: ", j))
			for i := range lines {
				line := fmt.Sprintf("job %d line %d %s\n", j, i, strings.Repeat("x", i))
				// Dribble each line in pieces so a naive writer would mix them.
				for k := 0; k < len(line); k += 7 {
					_, _ = w.Write([]byte(line[k:min(k+7, len(line))]))
				}
			}
			_, _ = w.Write([]byte("tail without newline"))
			require.NoError(t, w.Close())
		}()
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, got, jobs*(lines+1))
	seen := map[string]bool{}
	for _, l := range got {
		var j, i int
		if strings.HasSuffix(l, ": tail without newline") {
			_, err := fmt.Sscanf(l, "n%d: tail", &j)
			require.NoError(t, err, l)
			seen[fmt.Sprint(j, "tail")] = true
			continue
		}
		_, err := fmt.Sscanf(l, "n%d: job %d line %d", &j, &j, &i)
		require.NoError(t, err, "mixed line %q", l)
		require.Equal(t, fmt.Sprintf("n%d: job %d line %d %s", j, j, i, strings.Repeat("x", i)), l)
		seen[fmt.Sprint(j, i)] = true
	}
	require.Len(t, seen, jobs*(lines+1))
}

func TestLineWriterUntaggedPassesBytes(t *testing.T) {
	var buf bytes.Buffer
	w := NewOutput(&buf).Writer("")
	_, _ = w.Write([]byte("a\nb"))
	require.Equal(t, "a\n", buf.String())
	_, _ = w.Write([]byte("c\n"))
	require.Equal(t, "a\nbc\n", buf.String())
	require.NoError(t, w.Close())
	require.Equal(t, "a\nbc\n", buf.String())
	require.EqualValues(t, 5, w.Bytes())
}

// TestLineWriterReadFromIsWrite: io.Copy (as x/crypto/ssh does) goes
// through ReadFrom and gives the same bytes, tee included.
func TestLineWriterReadFromIsWrite(t *testing.T) {
	var buf, tee bytes.Buffer
	w := NewOutput(&buf).Writer("n: ")
	w.tee = &tee
	in := strings.Repeat("line\n", 10000) + "end"
	n, err := io.Copy(w, strings.NewReader(in))
	require.NoError(t, err)
	require.EqualValues(t, len(in), n)
	require.NoError(t, w.Close())
	require.Equal(t, strings.Repeat("n: line\n", 10000)+"n: end", buf.String())
	require.Equal(t, in, tee.String())
}

// TestOutputLabel: SetLabel's function rewrites every prefix, a last line
// without newline included; untagged output is left alone.
func TestOutputLabel(t *testing.T) {
	var buf bytes.Buffer
	out := NewOutput(&buf)
	out.SetLabel(func(p string) string { return "<" + p + ">" })
	w := out.Writer("n1: ")
	_, _ = io.WriteString(w, "a\nb")
	require.NoError(t, w.Close())
	plain := out.Writer("")
	_, _ = io.WriteString(plain, "c\n")
	require.NoError(t, plain.Close())
	require.Equal(t, "<n1: >a\n<n1: >b\nc\n", buf.String())
}
