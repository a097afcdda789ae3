//go:build unix

package termview

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/drove-dev/drove/internal/tmuxtest"
)

// TestScreenConcurrentWritersOnTerminal: writers on stdout and stderr and
// status updates, all at once (run with -race), on a real terminal: every
// line ends up whole and once in the terminal's history, and after Close
// no status line is left anywhere in it.
func TestScreenConcurrentWritersOnTerminal(t *testing.T) {
	tm := tmuxtest.Start(t, 80, 24, "exec sleep 600")
	stdout, stderr := paneFiles(t, tm)
	scr := NewScreen(stdout, stderr, true)
	t.Cleanup(scr.Close)

	const writers, lines = 6, 60
	var wg sync.WaitGroup
	for w := range writers {
		out := scr.Stdout()
		if w%2 == 1 {
			out = scr.Stderr()
		}
		wg.Go(func() {
			for i := 0; i < lines; i += 2 {
				// Two whole lines in one write, as a job's output can.
				_, _ = io.WriteString(out, fmt.Sprintf("writer %d line %d\nwriter %d line %d\n", w, i, w, i+1))
			}
		})
	}
	wg.Go(func() {
		for i := range 300 {
			scr.Set(Status{Text: fmt.Sprintf("STATUS %d of 300 with a long tail %s", i, strings.Repeat("=", 60)), Done: int64(i), Total: 300})
		}
	})
	wg.Wait()
	scr.Set(Status{Text: "STATUS final"})
	fmt.Fprintln(scr.Stderr(), "END")
	s := tm.WaitFor("the end mark and the status line", func(s tmuxtest.Screen) bool {
		return s.Rows[s.CursorY] == "STATUS final" && strings.Contains(strings.Join(s.Joined, "\n"), "\nEND\n")
	})
	tmuxtest.CheckStatus(t, s, func(l string) bool { return strings.HasPrefix(l, "STATUS") },
		func(l string) bool { return strings.HasPrefix(l, "writer ") || l == "END" })
	scr.Close()
	fmt.Fprintln(scr.Stdout(), "CLOSED")
	tm.WaitFor("the last line", func(s tmuxtest.Screen) bool { return s.Rows[s.LastUsed()] == "CLOSED" })

	want := map[string]int{"END": 1, "CLOSED": 1}
	for w := range writers {
		for i := range lines {
			want[fmt.Sprintf("writer %d line %d", w, i)] = 1
		}
	}
	got := map[string]int{}
	for _, l := range tm.History() {
		if l != "" {
			got[l]++
		}
	}
	if len(got) != len(want) {
		for l := range got {
			if want[l] == 0 {
				t.Errorf("unexpected line %q", l)
			}
		}
	}
	for l, n := range want {
		if got[l] != n {
			t.Errorf("line %q shows %d times", l, got[l])
		}
	}
}

// TestScreenNotLiveOffTerminal: off a terminal the writers are passed
// through untouched and Set draws nothing.
func TestScreenNotLiveOffTerminal(t *testing.T) {
	var out, errb strings.Builder
	scr := NewScreen(&out, &errb, true)
	defer scr.Close()
	if scr.Live() || scr.Stdout() != io.Writer(&out) || scr.Stderr() != io.Writer(&errb) {
		t.Fatal("a screen off a terminal must pass its writers through")
	}
	scr.Set(Status{Text: "x"})
	fmt.Fprintln(scr.Stderr(), "line")
	if errb.String() != "line\n" || out.String() != "" {
		t.Fatalf("stderr %q stdout %q", errb.String(), out.String())
	}
}

// TestScreenMessageAfterAnOpenLine: a message never glues onto a line
// output left open (the runner passes on a huge line in pieces), a
// message written in pieces stays one line, and the status line comes
// back once the line is ended.
func TestScreenMessageAfterAnOpenLine(t *testing.T) {
	tm := tmuxtest.Start(t, 80, 24, "exec sleep 600")
	stdout, stderr := paneFiles(t, tm)
	scr := NewScreen(stdout, stderr, true)
	t.Cleanup(scr.Close)
	scr.Set(Status{Text: "STATUS"})
	fmt.Fprintln(scr.Stdout(), "job line")
	fmt.Fprint(scr.Stdout(), "a huge job line, first piece")
	scr.Set(Status{Text: "STATUS 2"})
	fmt.Fprint(scr.Messages(), "drove: a message")
	fmt.Fprint(scr.Messages(), " in two pieces\n")
	fmt.Fprintln(scr.Stdout(), "END")
	s := tm.WaitFor("the status line back", func(s tmuxtest.Screen) bool { return s.Rows[s.CursorY] == "STATUS 2" })
	tmuxtest.CheckStatus(t, s, func(l string) bool { return strings.HasPrefix(l, "STATUS") }, func(l string) bool {
		return l == "job line" || l == "a huge job line, first piece" || l == "drove: a message in two pieces" || l == "END"
	})
}
