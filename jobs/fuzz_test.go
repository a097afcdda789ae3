package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

// FuzzReader: the reader gives back every line's bytes. The model splits
// the input at "\n", drops one "\r" before it, skips lines that are only
// white space and numbers lines from 1; a line over MaxLineBytes is a job
// that never runs, and the jobs after it still come.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"", "a", "a\nb\n", "\n\n x\r\n", "a\x00b\n\xff\r\r\n", "\r", " \t\n\v\f\r\n", "x\ry\nz"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		type job struct {
			cmd, origin string
			long        bool
		}
		var want []job
		lines := bytes.Split(in, []byte("\n"))
		if len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1] // no line after a final "\n"
		}
		for i, l := range lines {
			if i < len(lines)-1 || bytes.HasSuffix(in, []byte("\n")) {
				l = bytes.TrimSuffix(l, []byte("\r"))
			}
			origin := fmt.Sprintf("f:%d", i+1)
			switch {
			case len(l) > MaxLineBytes:
				want = append(want, job{origin: origin, long: true})
			case strings.TrimSpace(string(l)) != "":
				want = append(want, job{cmd: string(l), origin: origin})
			}
		}
		r := NewReader(bytes.NewReader(in), "f")
		var got []job
		for {
			j, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil && !errors.Is(err, ErrLineTooLong) {
				t.Fatalf("unexpected error %v", err)
			}
			got = append(got, job{cmd: j.Cmd, origin: j.Origin, long: err != nil})
		}
		if !slices.Equal(got, want) {
			t.Fatalf("input %q:\n got %#v\nwant %#v", in, got, want)
		}
	})
}
