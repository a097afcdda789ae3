package termview

import (
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"
)

// redrawEvery is the shortest interval between two redraws of the status
// line; a change or output inside it is drawn when it ends.
const redrawEvery = 100 * time.Millisecond

// Screen coordinates one terminal shared by a status line and output.
// When it is live (stderr is a terminal and a status line is wanted),
// every write to Stdout (if stdout is a terminal too) and to Stderr
// passes through one lock: the status line is erased ("\r\x1b[J"), the
// bytes written, and the status line drawn again only once the cursor is
// at the start of a line, so output is never glued onto it. The status
// line is one row: it is cut to the terminal's width minus one column,
// read at every draw (and redrawn on SIGWINCH), so it never wraps.
//
// When it is not live, Stdout and Stderr are the writers given and the
// status line is never drawn: Live reports false and views print plain
// lines instead.
type Screen struct {
	stdout, stderr io.Writer // as given, or wrapped when live
	tty            *os.File  // stderr when live; nil otherwise
	plainErr       io.Writer

	mu      sync.Mutex
	status  Status
	has     bool        // a status line is wanted
	drawn   bool        // it is on screen, with the cursor at its end
	stale   bool        // it changed since it was drawn
	bol     bool        // output left the cursor at the start of a line
	last    time.Time   // of the last draw
	timer   *time.Timer // a pending draw
	frame   int         // spinner frame
	closed  bool
	winch   chan os.Signal
	stopped chan struct{}
}

// Status is what the status line shows.
type Status struct {
	Text string
	// Done and Total make a percentage and a bar when Total > 0; give
	// Total <= 0 while the total is not known.
	Done, Total int64
	// Spin puts a spinner before Text.
	Spin bool
}

// NewScreen returns the screen for a command's stdout and stderr. It is
// live only if want is set and stderr is a terminal; then stdout is
// coordinated too when it is a terminal. Close it when done.
func NewScreen(stdout, stderr io.Writer, want bool) *Screen {
	s := &Screen{stdout: stdout, stderr: stderr, plainErr: stderr, bol: true}
	f, ok := stderr.(*os.File)
	if !want || !ok || !term.IsTerminal(int(f.Fd())) {
		return s
	}
	s.tty = f
	s.stderr = &screenWriter{s: s, w: stderr}
	if o, ok := stdout.(*os.File); ok && term.IsTerminal(int(o.Fd())) {
		s.stdout = &screenWriter{s: s, w: stdout}
	}
	s.winch = make(chan os.Signal, 1)
	s.stopped = make(chan struct{})
	signal.Notify(s.winch, syscall.SIGWINCH)
	go s.resizes()
	return s
}

// Live reports whether the screen draws a status line in place.
func (s *Screen) Live() bool { return s.tty != nil }

// Stdout is where output meant for stdout goes.
func (s *Screen) Stdout() io.Writer { return s.stdout }

// Stderr is where output and messages meant for stderr go.
func (s *Screen) Stderr() io.Writer { return s.stderr }

// Set shows st on the status line (at most every redrawEvery; the last
// one set is always drawn). It does nothing on a screen that is not live.
func (s *Screen) Set(st Status) {
	if s.tty == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.status, s.has, s.stale = st, true, true
	s.schedule()
}

// Clear removes the status line until the next Set.
func (s *Screen) Clear() {
	if s.tty == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.erase()
	s.has = false
}

// Close removes the status line for good; output still passes through.
func (s *Screen) Close() {
	if s.tty == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed, s.has = true, false
	s.erase()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	signal.Stop(s.winch)
	close(s.stopped)
}

// screenWriter is Stdout or Stderr of a live screen.
type screenWriter struct {
	s *Screen
	w io.Writer
}

// Write erases the status line, writes p, and draws the status line
// again (now or within redrawEvery) if p left the cursor at the start of
// a line.
func (sw *screenWriter) Write(p []byte) (int, error) {
	s := sw.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.erase()
	n, err := sw.w.Write(p)
	if n > 0 {
		s.bol = p[n-1] == '\n'
	}
	s.stale = true
	s.schedule()
	return n, err
}

// erase removes the status line, leaving the cursor at the start of its
// row. The cursor is kept at the start of the status line (see draw), so
// erasing from it to the end of the screen also removes the rows a
// terminal that re-wraps lines on a resize made of a line that no longer
// fits. Called with mu held.
func (s *Screen) erase() {
	if s.drawn {
		_, _ = io.WriteString(s.tty, "\r\x1b[J")
		s.drawn = false
	}
}

// schedule draws the status line now, or arms a timer to draw it when
// redrawEvery has passed since the last draw. Called with mu held.
func (s *Screen) schedule() {
	if !s.has || !s.bol || s.closed || !s.stale && s.drawn {
		return
	}
	if wait := redrawEvery - time.Since(s.last); wait > 0 {
		if s.timer == nil {
			s.timer = time.AfterFunc(wait, s.fire)
		}
		return
	}
	s.draw()
}

func (s *Screen) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = nil
	s.schedule()
}

// draw writes the status line in place, cut to the terminal's current
// width. Called with mu held.
func (s *Screen) draw() {
	width := 80
	if w, _, err := term.GetSize(int(s.tty.Fd())); err == nil && w > 0 {
		width = w
	}
	s.frame++
	line := render(s.status, width-1, s.frame)
	// One write: erase the old line (and any rows a re-wrap made of it),
	// draw the new one, and leave the cursor at its start, where the next
	// output or erase begins.
	_, _ = io.WriteString(s.tty, "\r\x1b[J"+line+"\r")
	s.drawn, s.stale, s.last = true, false, time.Now()
}

// resizes redraws the status line at the new width when the terminal is
// resized.
func (s *Screen) resizes() {
	for {
		select {
		case <-s.winch:
			s.mu.Lock()
			if s.drawn {
				s.stale = true
				s.draw()
			}
			s.mu.Unlock()
		case <-s.stopped:
			return
		}
	}
}
