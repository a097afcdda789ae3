//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
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

// countRows is how many lines of s match re.
func countRows(s tmuxtest.Screen, re string) int {
	n := 0
	for _, l := range s.Joined {
		if regexp.MustCompile(re).MatchString(l) {
			n++
		}
	}
	return n
}

// TestRunStatusOnTerminal runs 8 gated jobs on 4 local slots with --status
// in a terminal: output lines from stdout and stderr stay whole above one
// status line showing the real total (the job file is a regular file);
// after the window narrows to 60 columns the status line still fits; at
// the end only the final status line is left.
func TestRunStatusOnTerminal(t *testing.T) {
	for _, size := range termSizes {
		t.Run(fmt.Sprintf("%dx%d", size.cols, size.rows), func(t *testing.T) {
			t.Parallel()
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
			count := countRows

			s := tm.WaitFor("8 output lines and 4 running", func(s tmuxtest.Screen) bool {
				return count(s, `^job [1-4] (out|err) line$`) == 8 && count(s, `4 of 4 nodes running`) == 1
			})
			st := tmuxtest.CheckStatus(t, s, isStatus, isOutput)
			require.Contains(t, st, "0 of 48 jobs complete, 4 of 4 nodes running jobs.", "the real total of a regular job file")
			require.Contains(t, st, "0% [", "a known total has a percentage and, when it fits, a bar")

			tm.Resize(60)
			s = tm.WaitFor("the status line redrawn at 60 columns", func(s tmuxtest.Screen) bool {
				return s.Width == 60 && count(s, "jobs complete") == 1 && tmuxtest.Columns(s.Rows[s.CursorY]) < 60
			})
			tmuxtest.CheckStatus(t, s, isStatus, isOutput)

			require.NoError(t, os.WriteFile(filepath.Join(dir, "go1"), nil, 0o644))
			s = tm.WaitFor("jobs 1-4 done, 6-8 printed", func(s tmuxtest.Screen) bool {
				return count(s, `^job [6-8] out line$`) == 3 && count(s, `^4 of 48 jobs complete`) == 1
			})
			tmuxtest.CheckStatus(t, s, isStatus, isOutput)

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

// fifoGate is a FIFO that rsync reads with --exclude-from: each rsync
// blocks opening it until the gate opens, then reads no excludes.
type fifoGate struct {
	path       string
	stop, done chan struct{}
	opened     bool
}

func newFIFOGate(t *testing.T, path string) *fifoGate {
	t.Helper()
	require.NoError(t, syscall.Mkfifo(path, 0o644))
	g := &fifoGate{path: path, stop: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(g.close)
	return g
}

// open lets every rsync that reads the gate, now and later, go on.
func (g *fifoGate) open() {
	g.opened = true
	go func() {
		defer close(g.done)
		for {
			select {
			case <-g.stop:
				return
			default:
			}
			// Blocks until a reader comes; closing gives it EOF.
			f, err := os.OpenFile(g.path, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			f.Close()
		}
	}()
}

func (g *fifoGate) close() {
	close(g.stop)
	if !g.opened {
		return
	}
	select {
	case <-g.done:
	default:
		// Unblock the opener if it waits for a reader; it returns then.
		if r, err := os.OpenFile(g.path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			<-g.done
			r.Close()
		}
	}
}

// TestSyncStatusOnTerminal runs drove sync --status -vv in a terminal with
// every rsync held on a FIFO: mid-run the messages stay whole above one
// progress line within the width, also after the window narrows to 60
// columns; at the end no progress line is left behind.
func TestSyncStatusOnTerminal(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("rsync not installed")
	}
	for _, size := range termSizes {
		t.Run(fmt.Sprintf("%dx%d", size.cols, size.rows), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			require.NoError(t, os.MkdirAll(src, 0o755))
			for i := 1; i <= 6; i++ {
				require.NoError(t, os.WriteFile(filepath.Join(src, fmt.Sprintf("f%d", i)), []byte("0123456789"), 0o644))
			}
			gate := newFIFOGate(t, filepath.Join(dir, "gate"))
			tm := droveInTerm(t, size.cols, size.rows, dir, "sync", "-n", "2/:", "-f", "1", "-d", filepath.Join(dir, "work"),
				"--status", "-vv", "--tool-args=--exclude-from="+gate.path, src, filepath.Join(dir, "dst"))

			message := regexp.MustCompile(`^drove: sync: (crawl complete: 6 files, 60 B in 6 partitions|` +
				`partition \S+ copied on local \(1 files?, 10 B\)|final pass on local|` +
				`6 of 6 files \(60 B of 60 B\) done in 6 of 6 partitions \(0 failed, 0 not run\), .*; final pass done|` +
				`this run transferred 6 files, 60 B \(.*/s\); 0 files were already in DST; the final pass transferred 0 files, 0 B)$`)
			const statusRe = `^\d+ of \d+\+? files, `
			isStatus := regexp.MustCompile(statusRe).MatchString

			s := tm.WaitFor("copies started", func(s tmuxtest.Screen) bool {
				return countRows(s, `1 of 1 nodes busy`) == 1
			})
			tmuxtest.CheckStatus(t, s, isStatus, message.MatchString)

			tm.Resize(60)
			s = tm.WaitFor("the status line redrawn at 60 columns", func(s tmuxtest.Screen) bool {
				return s.Width == 60 && countRows(s, statusRe) == 1 && tmuxtest.Columns(s.Rows[s.CursorY]) < 60
			})
			tmuxtest.CheckStatus(t, s, isStatus, message.MatchString)

			gate.open()
			s = tm.WaitFor("the end", func(s tmuxtest.Screen) bool { return countRows(s, `^EXIT `) == 1 })
			for _, l := range tm.History() {
				if l != "" && l != "EXIT 0" && !message.MatchString(l) {
					t.Fatalf("a line left on the terminal is not a whole message: %q\n%s", l, s)
				}
			}
			require.Equal(t, 6, countRows(s, `^drove: sync: partition \S+ copied`), s.String())
		})
	}
}

// TestPartitionOnTerminal runs drove partition with stdout and stderr on
// one terminal: every job line (stdout) and the summary (stderr) end up
// whole, each on a line of its own, and the spinner leaves nothing behind.
// (The crawl cannot be held mid-way from outside; the spinner mid-run is
// TestPartitionSpinnerOnTerminal in package termview, on a real terminal
// too.)
func TestPartitionOnTerminal(t *testing.T) {
	for _, size := range termSizes {
		t.Run(fmt.Sprintf("%dx%d", size.cols, size.rows), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			for d := range 8 {
				sub := filepath.Join(src, fmt.Sprintf("d%02d", d))
				require.NoError(t, os.MkdirAll(sub, 0o755))
				for f := range 10 {
					require.NoError(t, os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d", f)), []byte("x"), 0o644))
				}
			}
			tm := droveInTerm(t, size.cols, size.rows, dir, "partition", "-f", "1", "-m", "list", "-o", "out", src)
			s := tm.WaitFor("the end", func(s tmuxtest.Screen) bool { return countRows(s, `^EXIT `) == 1 })
			jobLine := regexp.MustCompile(`^` + regexp.QuoteMeta(filepath.Join(dir, "out")) + `/part\.\d{6}$`)
			summary := regexp.MustCompile(`^drove: partition: 80 files, 80 B, 80 partitions, 0 skipped \(9 dirs crawled, 0 excluded, 0 special files ignored\) in \S+$`)
			jobs := 0
			for _, l := range tm.History() {
				switch {
				case jobLine.MatchString(l):
					jobs++
				case l == "" || l == "EXIT 0" || summary.MatchString(l):
				default:
					t.Fatalf("a line left on the terminal is not whole: %q\n%s", l, s)
				}
			}
			require.Equal(t, 80, jobs, s.String())
		})
	}
}

// TestNodeNamesColouredOnTerminal: on a terminal, node labels are
// coloured as clush colours them (bright blue on stdout, bright red on
// stderr, --gather's headers blue); with NO_COLOR set, or output not a
// terminal (a pipe), they are plain.
func TestNodeNamesColouredOnTerminal(t *testing.T) {
	self, err := filepath.Abs(os.Args[0])
	require.NoError(t, err)
	drove := "DROVE_AS_MAIN=1 " + shquote.Quote(self)
	cmd := strings.Join([]string{
		"unset NO_COLOR",
		drove + " -w : 'echo out; echo err >&2'",
		drove + " -b -w : echo gathered",
		"NO_COLOR=1 " + drove + " -w : echo nocolour",
		drove + " -w : echo piped | cat",
		"echo EXIT $?",
		"exec sleep 600",
	}, "; ")
	tm := tmuxtest.Start(t, 80, 24, cmd)
	tm.WaitFor("the last drove", func(s tmuxtest.Screen) bool { return countRows(s, `^EXIT \d+$`) == 1 })
	styled := strings.Join(tm.Styled(), "\n")
	const esc = "\x1b["
	require.Contains(t, styled, esc+"94mlocal: "+esc+"39mout\n", "stdout label")
	require.Contains(t, styled, esc+"91mlocal: "+esc+"39merr\n", "stderr label")
	require.Regexp(t, `\x1b\[94m-+\nlocal \(1\)\n-+\n\x1b\[39mgathered\n`, styled, "--gather header")
	require.Contains(t, styled, "\nlocal: nocolour\n", "NO_COLOR")
	require.Contains(t, styled, "\nlocal: piped\n", "not a terminal")
	require.Equal(t, 2, strings.Count(styled, esc+"94m"), "colour only where wanted:\n%s", styled)
}
