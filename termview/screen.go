package termview

import (
	"io"
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/term"
)

// redrawEvery is the shortest interval between two redraws of the status
// line; a change or output inside it is drawn when it ends.
const redrawEvery = 100 * time.Millisecond

// Screen coordinates one terminal shared by a status line and output.
// When it is live (stderr is a terminal and a status line is wanted),
// every write to Stdout (if stdout is the same terminal) and to Stderr
// passes through one lock and goes out as one write: the status line
// erased ("\r\x1b[J"), the bytes, and the status line drawn again only
// if they left the cursor at the start of a line, so output is never
// glued onto it. The status
// line is one row: it is cut to the terminal's width minus one column,
// read at every draw (and redrawn on SIGWINCH), so it never wraps.
//
// When it is not live, Stdout and Stderr are the writers given and the
// status line is never drawn: Live reports false and views print plain
// lines instead.
type Screen struct {
	stdout, stderr io.Writer // as given, or wrapped when live
	messages       io.Writer // stderr, starting on a fresh line when live
	tty            *os.File  // stderr when live; nil otherwise

	mu      sync.Mutex
	status  Status
	has     bool          // a status line is wanted
	drawn   bool          // it is on screen, with the cursor at its start
	stale   bool          // it changed since it was drawn
	bol     bool          // output left the cursor at the start of a line
	open    *screenWriter // the writer that wrote last (left the line open if !bol)
	last    time.Time     // of the last draw
	timer   *time.Timer   // a pending draw
	frame   int           // spinner frame
	closed  bool
	winch   chan os.Signal
	stopped chan struct{}
	buf     []byte // the next write to the terminal
	width   int    // the terminal's width when the line was drawn
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
// coordinated too when it is the same terminal (a different one never
// shows the status line). Close it when done.
func NewScreen(stdout, stderr io.Writer, want bool) *Screen {
	s := &Screen{stdout: stdout, stderr: stderr, messages: stderr, bol: true}
	f, ok := stderr.(*os.File)
	if !want || !ok || !term.IsTerminal(int(f.Fd())) {
		return s
	}
	s.tty = f
	s.stderr = &screenWriter{s: s, w: f}
	s.messages = &screenWriter{s: s, w: f, fresh: true}
	if o, ok := stdout.(*os.File); ok && sameTerminal(o, f) {
		// Written through stderr's descriptor: the same device, and
		// then the erase, the output and the status line go out in one
		// write.
		s.stdout = &screenWriter{s: s, w: f}
	}
	s.winch = make(chan os.Signal, 1)
	s.stopped = make(chan struct{})
	notifyResize(s.winch)
	go s.resizes()
	return s
}

// sameTerminal reports whether a and b are open on the same terminal.
func sameTerminal(a, b *os.File) bool {
	if !term.IsTerminal(int(a.Fd())) {
		return false
	}
	ai, err1 := a.Stat()
	bi, err2 := b.Stat()
	return err1 == nil && err2 == nil && os.SameFile(ai, bi)
}

// Live reports whether the screen draws a status line in place.
func (s *Screen) Live() bool { return s.tty != nil }

// Stdout is where output meant for stdout goes.
func (s *Screen) Stdout() io.Writer { return s.stdout }

// Stderr is where output meant for stderr goes.
func (s *Screen) Stderr() io.Writer { return s.stderr }

// Messages is stderr for the command's own lines: on a live screen a
// message starts on a line of its own when other output left a line open
// (a job's line longer than the runner holds), so it is never glued onto
// that line; a message written in pieces stays one line.
func (s *Screen) Messages() io.Writer { return s.messages }

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

// screenWriter is Stdout or Stderr of a live screen: w is the terminal.
type screenWriter struct {
	s     *Screen
	w     *os.File
	fresh bool // start on a line of its own
}

// Write erases the status line, writes p, and draws the status line again
// if p left the cursor at the start of a line: all in one write, so the
// terminal never shows output without the status line below it, nor a
// half-drawn line.
func (sw *screenWriter) Write(p []byte) (int, error) {
	s := sw.s
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.appendErase(s.buf[:0])
	if sw.fresh && !s.bol && s.open != sw && len(p) > 0 {
		b = append(b, '\n')
	}
	head := len(b)
	b = append(b, p...)
	if len(p) > 0 {
		s.bol, s.open = p[len(p)-1] == '\n', sw
	}
	if s.has && s.bol && !s.closed {
		b = s.appendLine(b)
	}
	n, err := sw.w.Write(b)
	if cap(b) <= 64<<10 {
		s.buf = b[:0]
	}
	if err != nil {
		s.drawn = false
		return min(max(n-head, 0), len(p)), err
	}
	return len(p), nil
}

// erase removes the status line, leaving the cursor at the start of its
// row. Called with mu held.
func (s *Screen) erase() {
	if b := s.appendErase(s.buf[:0]); len(b) > 0 {
		_, _ = s.tty.Write(b)
	}
}

// Erasing the status line: the cursor is kept at its start (see
// appendLine), so "\r\x1b[K" clears it. After a resize, a terminal that
// re-wraps long lines (tmux does) may have made more rows of it
// below the cursor: eraseWrapped also clears from the next row down,
// without clearing from the top-left corner (which tmux would save to
// the scrollback).
const (
	eraseLine    = "\r\x1b[K"
	eraseWrapped = "\r\x1b[K\x1b7\x1b[B\x1b[J\x1b8"
)

// appendErase appends what erases the status line if it is drawn.
// Called with mu held.
func (s *Screen) appendErase(b []byte) []byte {
	if !s.drawn {
		return b
	}
	s.drawn = false
	if s.termWidth() != s.width {
		return append(b, eraseWrapped...)
	}
	return append(b, eraseLine...)
}

// termWidth is the terminal's width now (80 if it cannot be read).
func (s *Screen) termWidth() int {
	if w, _, err := term.GetSize(int(s.tty.Fd())); err == nil && w > 0 {
		return w
	}
	return 80
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

// draw writes the status line in place. Called with mu held.
func (s *Screen) draw() {
	b := s.appendLine(s.appendErase(s.buf[:0]))
	_, _ = s.tty.Write(b)
	s.buf = b[:0]
}

// appendLine appends the status line, cut to the terminal's current
// width, and a carriage return: the cursor is left at the start of the
// line, where the next output or erase begins. Called with mu held.
func (s *Screen) appendLine(b []byte) []byte {
	s.width = s.termWidth()
	s.frame++
	b = append(b, render(s.status, s.width-1, s.frame)...)
	b = append(b, '\r')
	s.drawn, s.stale, s.last = true, false, time.Now()
	return b
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
