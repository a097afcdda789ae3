//go:build unix

// Package tmuxtest runs a command in a real terminal, a tmux pane of a
// given size, for tests that assert on the screen a user sees: tmux is the
// terminal emulator, capture-pane the rendered screen.
package tmuxtest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// Term is one tmux server with one pane running a command.
type Term struct {
	t    testing.TB
	sock string
}

// Screen is what the pane shows: its rows (trailing blanks trimmed; with
// Joined, rows the terminal wrapped are joined back into one), the cursor
// and the pane's size.
type Screen struct {
	Rows             []string // one per row of the pane
	Joined           []string // logical lines: wrapped rows joined
	CursorX, CursorY int
	Width, Height    int
}

// String is the screen for a failure message, the cursor row marked.
func (s Screen) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "screen %dx%d, cursor at column %d row %d:\n", s.Width, s.Height, s.CursorX, s.CursorY)
	for i, r := range s.Rows {
		mark := "  "
		if i == s.CursorY {
			mark = "> "
		}
		fmt.Fprintf(&b, "%s%2d |%s\n", mark, i, r)
	}
	return b.String()
}

// LastUsed is the index of the last non-blank row, or -1.
func (s Screen) LastUsed() int {
	for i := len(s.Rows) - 1; i >= 0; i-- {
		if strings.TrimSpace(s.Rows[i]) != "" {
			return i
		}
	}
	return -1
}

// Columns is how many columns s takes (one per rune: the tests' text is
// ASCII, and tmux pads a wide character's second column).
func Columns(s string) int { return utf8.RuneCountInString(s) }

// Start runs cmd (a line for sh -c) in a new tmux server whose only pane is
// cols x rows; end cmd with "; exec sleep 600" to keep the pane after it.
// At the end of the test the pane's process group is killed (SIGKILL), then
// the server. The test is skipped when tmux is not installed, unless CI=true, where it fails.
func Start(t testing.TB, cols, rows int, cmd string) *Term {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tmux is not installed (CI=true: the terminal tests must run; apt-get install tmux)")
		}
		t.Skip("tmux is not installed: the rendered-screen tests need it as the terminal emulator (apt-get install tmux)")
	}
	// A short socket path: t.TempDir can exceed a socket's 108 bytes.
	dir, err := os.MkdirTemp("", "tmt")
	if err != nil {
		t.Fatal(err)
	}
	tm := &Term{t: t, sock: dir + "/s"}
	t.Cleanup(func() {
		// Kill what the pane runs first: a drove survives the SIGHUP that
		// kill-server sends (SIGHUP re-reads its node files), and a test
		// that failed early may have left its jobs waiting at a gate.
		if out, err := exec.Command("tmux", "-S", tm.sock, "display-message", "-p", "#{pane_pid}").Output(); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && pid > 1 {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
		_ = exec.Command("tmux", "-S", tm.sock, "kill-server").Run()
		_ = os.RemoveAll(dir)
	})
	tm.run("-f", "/dev/null", "new-session", "-d", "-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows), cmd)
	return tm
}

// run is one tmux command on this server.
func (tm *Term) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", tm.sock}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Capture returns the screen now. The rows, the joined lines and the
// cursor come from one request to the server, so they agree.
func (tm *Term) Capture() Screen {
	tm.t.Helper()
	const sep = "@@tmuxtest@@"
	out := tm.run("capture-pane", "-p", ";", "display-message", "-p", sep, ";",
		"capture-pane", "-p", "-J", ";", "display-message", "-p", sep+"#{cursor_x} #{cursor_y} #{pane_width} #{pane_height}")
	parts := strings.Split(out, sep)
	if len(parts) != 3 {
		tm.t.Fatalf("tmuxtest: cannot parse a capture: %q", out)
	}
	var s Screen
	if _, err := fmt.Sscan(parts[2], &s.CursorX, &s.CursorY, &s.Width, &s.Height); err != nil {
		tm.t.Fatalf("tmuxtest: cursor %q: %v", parts[2], err)
	}
	s.Rows = lines(parts[0])
	s.Joined = lines(parts[1])
	return s
}

func lines(s string) []string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "\n"), "\n")
	rows := strings.Split(s, "\n")
	for i, r := range rows {
		rows[i] = strings.TrimRight(r, " ")
	}
	return rows
}

// History returns every line the pane has shown, scrollback included,
// wrapped rows joined.
func (tm *Term) History() []string {
	tm.t.Helper()
	return lines(tm.run("capture-pane", "-p", "-J", "-S", "-"))
}

// WaitFor polls the screen until cond holds and returns it; after 30s the
// test fails, showing the last screen.
func (tm *Term) WaitFor(what string, cond func(Screen) bool) Screen {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := tm.Capture()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("tmuxtest: waited 30s for %s; %s", what, s)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

// Resize makes the window cols columns wide (the program gets SIGWINCH).
func (tm *Term) Resize(cols int) {
	tm.t.Helper()
	tm.run("resize-window", "-x", strconv.Itoa(cols))
}

// SendKeys types keys into the pane, as tmux send-keys names them
// ("Tab", "Enter", "C-c"; other strings are typed literally when literal).
func (tm *Term) SendKeys(literal bool, keys ...string) {
	tm.t.Helper()
	args := []string{"send-keys"}
	if literal {
		args = append(args, "-l")
	}
	tm.run(append(args, keys...)...)
}

// TTY is the path of the pane's terminal device.
func (tm *Term) TTY() string {
	tm.t.Helper()
	return strings.TrimSpace(tm.run("display-message", "-p", "#{pane_tty}"))
}

// CheckStatus asserts what a user must see mid-run: every line on the
// screen but one is a whole line that output printed (isOutput; lines the
// terminal wrapped are joined back), each once; exactly one is the status
// line (isStatus), on the last row used, where the cursor is, within the
// width minus one column (so it never wraps). It returns the status line.
func CheckStatus(t testing.TB, s Screen, isStatus, isOutput func(string) bool) string {
	t.Helper()
	var status []string
	seen := map[string]bool{}
	last := ""
	for _, l := range s.Joined {
		switch {
		case l == "":
			continue
		case isStatus(l):
			status = append(status, l)
		case !isOutput(l):
			t.Fatalf("a line is neither a whole output line nor the status line: %q\n%s", l, s)
		case seen[l]:
			t.Fatalf("an output line shows twice: %q\n%s", l, s)
		default:
			seen[l] = true
		}
		last = l
	}
	if len(status) != 1 {
		t.Fatalf("want exactly one status line, got %d: %q\n%s", len(status), status, s)
	}
	switch {
	case status[0] != last:
		t.Fatalf("the status line is not the last line\n%s", s)
	case Columns(status[0]) > s.Width-1:
		t.Fatalf("the status line (%d columns) does not fit the width minus one (it wraps)\n%s", Columns(status[0]), s)
	case s.LastUsed() != s.CursorY:
		t.Fatalf("the cursor is not on the last row used\n%s", s)
	case s.CursorY < 0 || s.CursorY >= len(s.Rows) || s.Rows[s.CursorY] != status[0]:
		t.Fatalf("the cursor row is not the status line\n%s", s)
	}
	return status[0]
}
