//go:build unix

package termview

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/tmuxtest"
	"github.com/drove-dev/drove/partition"
)

// paneFiles opens the terminal of a tmux pane twice, as a command's
// stdout and stderr on it would be.
func paneFiles(t *testing.T, tm *tmuxtest.Term) (stdout, stderr *os.File) {
	t.Helper()
	var fs [2]*os.File
	for i := range fs {
		f, err := os.OpenFile(tm.TTY(), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		fs[i] = f
	}
	return fs[0], fs[1]
}

// TestPartitionSpinnerOnTerminal drives the partition view in a real
// terminal, stdout and stderr both on it, step by step: job lines on stdout
// and skip messages on stderr stay whole above one spinner line, a job
// line written in two parts is never glued to the spinner, the spinner
// line is cut to the width (also after the window narrows to 60), and
// Finish leaves no trace of it.
func TestPartitionSpinnerOnTerminal(t *testing.T) {
	for _, size := range []struct{ cols, rows int }{{80, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", size.cols, size.rows), func(t *testing.T) {
			t.Parallel()
			tm := tmuxtest.Start(t, size.cols, size.rows, "exec sleep 600")
			stdout, stderr := paneFiles(t, tm)
			scr := NewScreen(stdout, stderr, true)
			t.Cleanup(scr.Close)
			if !scr.Live() {
				t.Fatal("a screen on a terminal is not live")
			}
			st := NewPartition(scr)
			job := regexp.MustCompile(`^rsync -a --files-from=/work/lists/part\.\d{6} /data/src/ /data/dst/$|^drove: partition: skipped "/data/src/[a-z]+": open: permission denied$`)
			isStatus := func(l string) bool {
				return strings.HasPrefix(l, `|`) || strings.HasPrefix(l, `/`) || strings.HasPrefix(l, `-`) || strings.HasPrefix(l, `\`)
			}
			lines := 0
			emit := func(n int) {
				for range n {
					lines++
					fmt.Fprintf(scr.Stdout(), "rsync -a --files-from=/work/lists/part.%06d /data/src/ /data/dst/\n", lines)
				}
			}
			// Big figures: the spinner line is longer than 80 columns.
			big := partition.Progress{Files: 123456789, Bytes: 987654321098765, Dirs: 1234567, Parts: 7654321, Skipped: 1}
			rows := func(re string) func(tmuxtest.Screen) bool {
				return func(s tmuxtest.Screen) bool {
					for _, l := range s.Joined {
						if regexp.MustCompile(re).MatchString(l) {
							return true
						}
					}
					return false
				}
			}

			emit(3)
			st.Update(big)
			st.Println(`drove: partition: skipped "/data/src/secret": open: permission denied`)
			emit(2)
			s := tm.WaitFor("5 job lines and the spinner", rows(`part\.000005 `))
			s = tm.WaitFor("the spinner", func(s tmuxtest.Screen) bool { return isStatus(s.Rows[s.CursorY]) })
			line := tmuxtest.CheckStatus(t, s, isStatus, job.MatchString)
			if !strings.Contains(line, "crawling: 123456789 files") {
				t.Fatalf("spinner line %q", line)
			}

			// A job line in two writes: the spinner waits for its end.
			fmt.Fprint(scr.Stdout(), "rsync -a --files-from=/work/lists/part.000006")
			st.Update(big)
			fmt.Fprint(scr.Stdout(), " /data/src/ /data/dst/\n")
			lines++
			st.Update(big)
			s = tm.WaitFor("job line 6", rows(`part\.000006 `))
			s = tm.WaitFor("the spinner", func(s tmuxtest.Screen) bool { return isStatus(s.Rows[s.CursorY]) })
			tmuxtest.CheckStatus(t, s, isStatus, job.MatchString)

			tm.Resize(60)
			emit(1)
			st.Update(partition.Progress{Files: 123456790, Bytes: 987654321098765, Dirs: 1234567, Parts: 7654322})
			s = tm.WaitFor("the spinner at 60 columns", func(s tmuxtest.Screen) bool {
				return s.Width == 60 && strings.Contains(s.Rows[s.CursorY], "123456790") && rows(`part\.000007 `)(s)
			})
			tmuxtest.CheckStatus(t, s, isStatus, job.MatchString)

			st.Finish()
			fmt.Fprintln(scr.Stderr(), "drove: partition: done")
			scr.Close()
			s = tm.WaitFor("the summary", rows(`^drove: partition: done$`))
			for _, l := range tm.History() {
				if l != "" && !job.MatchString(l) && l != "drove: partition: done" {
					t.Fatalf("a line left on the terminal is not a whole line: %q\n%s", l, s)
				}
			}
		})
	}
}
