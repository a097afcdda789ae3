package termview

import (
	"fmt"
	"io"
	"time"
)

// line is a status line on a Screen. On a live screen it is redrawn in
// place (see Screen); otherwise it is a plain line on stderr printed at
// most once a second, unless forced, and never twice the same. message
// prints a line of its own, which never tears the status line. Callers
// serialise calls.
type line struct {
	scr      *Screen
	w        io.Writer
	live     bool
	last     time.Time
	lastLine string
}

// newLine returns a line on scr; drawn in place only if on is set and scr
// is live.
func newLine(scr *Screen, on bool) *line {
	return &line{scr: scr, w: scr.Messages(), live: on && scr.Live()}
}

// terminal reports whether the line is redrawn in place.
func (l *line) terminal() bool { return l.live }

// message prints one line above the status line.
func (l *line) message(format string, args ...any) {
	fmt.Fprintf(l.w, format+"\n", args...)
}

// show displays text, with done of total for the bar; total <= 0 when the
// total is not known (no percentage then).
func (l *line) show(text string, done, total int64, force bool) {
	if l.live {
		l.scr.Set(Status{Text: text, Done: done, Total: total})
		return
	}
	if !force && (time.Since(l.last) < time.Second || text == l.lastLine) {
		return
	}
	l.last, l.lastLine = time.Now(), text
	fmt.Fprintln(l.w, text)
}

// finish ends the status line: text (if not "") is printed as a line of
// its own, and a live status line is removed.
func (l *line) finish(text string) {
	if l.live {
		l.scr.Clear()
		l.live = false
	}
	if text != "" {
		fmt.Fprintln(l.w, text)
	}
}
