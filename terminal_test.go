package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/shquote"
	"github.com/drove-dev/drove/internal/tmuxtest"
	"github.com/stretchr/testify/require"
)

// The rendered-screen tests run drove in a real terminal (a tmux pane of
// 80x24 and of 200x50), with stdout and stderr both on it, and assert on
// what the terminal shows. Jobs and copies wait on gate files or FIFOs,
// so each screen is captured mid-run by construction.

var termSizes = []struct{ cols, rows int }{{80, 24}, {200, 50}}

// droveInTerm starts drove (this test binary as drove) with args in a new
// terminal of cols x rows; when it exits, the pane shows "EXIT <status>".
func droveInTerm(t *testing.T, cols, rows int, dir string, args ...string) *tmuxtest.Term {
	t.Helper()
	self, err := filepath.Abs(os.Args[0])
	require.NoError(t, err)
	cmd := "cd " + shquote.Quote(dir) + " && DROVE_AS_MAIN=1 " + shquote.Quote(self)
	for _, a := range args {
		cmd += " " + shquote.Quote(a)
	}
	return tmuxtest.Start(t, cols, rows, cmd+"; echo EXIT $?; exec sleep 600")
}

// checkScreen asserts what a user must see mid-run: every row but one is a
// whole line that output printed (isOutput), each once; exactly one row is
// the status line (isStatus), on the last row used, where the cursor is,
// and at most the width minus one columns (so it never wraps).
func checkScreen(t *testing.T, s tmuxtest.Screen, isStatus, isOutput func(string) bool) string {
	t.Helper()
	var status []int
	seen := map[string]bool{}
	for i, r := range s.Rows {
		switch {
		case r == "":
		case isStatus(r):
			status = append(status, i)
		case !isOutput(r):
			t.Fatalf("row %d is neither a whole output line nor the status line: %q\n%s", i, r, s)
		case seen[r]:
			t.Fatalf("row %d repeats an output line: %q\n%s", i, r, s)
		default:
			seen[r] = true
		}
	}
	require.Len(t, status, 1, "exactly one status line\n%s", s)
	row := status[0]
	require.Equal(t, s.LastUsed(), row, "the status line is the last row used\n%s", s)
	require.Equal(t, s.CursorY, row, "the cursor is on the status line\n%s", s)
	require.LessOrEqual(t, tmuxtest.Columns(s.Rows[row]), s.Width-1, "the status line fits the width\n%s", s)
	// Joined lines (rows the terminal wrapped, joined back) show a
	// status line that wrapped: there must be none.
	for _, l := range s.Joined {
		if isStatus(l) {
			require.LessOrEqual(t, tmuxtest.Columns(l), s.Width-1, "the status line never wraps\n%s", s)
		}
	}
	return s.Rows[row]
}

// TestRunStatusOnTerminal runs 8 gated jobs on 4 local slots with --status
// in a terminal: output lines from stdout and stderr stay whole above one
// status line showing the real total (the job file is a regular file);
// after the window narrows to 60 columns the status line still fits; at
// the end only the final status line is left.
func TestRunStatusOnTerminal(t *testing.T) {
	for _, size := range termSizes {
		t.Run(fmt.Sprintf("%dx%d", size.cols, size.rows), func(t *testing.T) {
			dir := t.TempDir()
			var jobs []string
			wait := func(gate string) string {
				return fmt.Sprintf("while [ ! -e %s ]; do sleep 0.01; done", gate)
			}
			for i := 1; i <= 4; i++ {
				jobs = append(jobs, fmt.Sprintf("echo job %d out line; echo job %d err line >&2; %s", i, i, wait("go1")))
			}
			for i := 5; i <= 8; i++ {
				// Job 5 leaves its line open until it ends: it must
				// not show (or be glued to anything) before then.
				out := fmt.Sprintf("echo job %d out line", i)
				if i == 5 {
					out = "printf 'job 5 out line'"
				}
				jobs = append(jobs, fmt.Sprintf("%s; %s", out, wait("go2")))
			}
			// 40 more jobs that each wait too: the stream is read as
			// slots free, so only a count made up front knows 48.
			for i := 9; i <= 48; i++ {
				jobs = append(jobs, fmt.Sprintf("%s; echo job %d out line", wait("go2"), i))
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "jobs.txt"), []byte(strings.Join(jobs, "\n")+"\n"), 0o644))

			tm := droveInTerm(t, size.cols, size.rows, dir, "-n", "4/:", "--status", "-J", "jobs.txt")
			jobLine := regexp.MustCompile(`^job \d+ (out|err) line$`)
			isOutput := jobLine.MatchString
			isStatus := func(r string) bool { return strings.Contains(r, "jobs complete") }
			count := func(s tmuxtest.Screen, re string) int {
				n := 0
				for _, r := range s.Rows {
					if regexp.MustCompile(re).MatchString(r) {
						n++
					}
				}
				return n
			}

			s := tm.WaitFor("8 output lines and 4 running", func(s tmuxtest.Screen) bool {
				return count(s, `^job [1-4] (out|err) line$`) == 8 && count(s, `4 of 4 nodes running`) == 1
			})
			st := checkScreen(t, s, isStatus, isOutput)
			require.Contains(t, st, "0 of 48 jobs complete, 4 of 4 nodes running jobs.", "the real total of a regular job file")
			require.Contains(t, st, "0% [", "a known total has a percentage and, when it fits, a bar")

			tm.Resize(60)
			s = tm.WaitFor("the status line redrawn at 60 columns", func(s tmuxtest.Screen) bool {
				return s.Width == 60 && count(s, "jobs complete") == 1 && tmuxtest.Columns(s.Rows[s.CursorY]) < 60
			})
			checkScreen(t, s, isStatus, isOutput)

			require.NoError(t, os.WriteFile(filepath.Join(dir, "go1"), nil, 0o644))
			s = tm.WaitFor("jobs 1-4 done, 6-8 printed", func(s tmuxtest.Screen) bool {
				return count(s, `^job [6-8] out line$`) == 3 && count(s, `^4 of 48 jobs complete`) == 1
			})
			checkScreen(t, s, isStatus, isOutput)

			require.NoError(t, os.WriteFile(filepath.Join(dir, "go2"), nil, 0o644))
			s = tm.WaitFor("the end", func(s tmuxtest.Screen) bool { return count(s, `^EXIT `) == 1 })
			hist := tm.History()
			want := map[string]int{"48 of 48 jobs complete, 0 of 4 nodes running jobs.": 1, "EXIT 0": 1}
			for i := 1; i <= 48; i++ {
				want[fmt.Sprintf("job %d out line", i)] = 1
				if i <= 4 {
					want[fmt.Sprintf("job %d err line", i)] = 1
				}
			}
			got := map[string]int{}
			for _, l := range hist {
				if l != "" {
					got[l]++
				}
			}
			require.Equal(t, want, got, "every line once, whole, and no status line left behind\n%s", s)
		})
	}
}
