package termview

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// line is a status line on stderr. When w is a terminal it is a
// progress bar redrawn in place (schollz/progressbar); otherwise it is a
// plain line printed at most once a second, unless forced, and never twice
// the same. message prints a line of its own without tearing the bar.
// Callers serialise calls.
type line struct {
	w        io.Writer
	bar      *progressbar.ProgressBar
	last     time.Time
	lastLine string
}

// newLine returns a line on w; a bar only if on is set and w is a
// terminal.
func newLine(w io.Writer, on bool) *line {
	l := &line{w: w}
	if f, ok := w.(*os.File); ok && on && term.IsTerminal(int(f.Fd())) {
		l.bar = progressbar.NewOptions64(1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionSetPredictTime(false),
		)
	}
	return l
}

// terminal reports whether the line is a bar redrawn in place.
func (l *line) terminal() bool { return l.bar != nil }

// message prints one line above the status line. The caller redraws the
// status line afterwards (show with force) if it wants it back at once.
func (l *line) message(format string, args ...any) {
	if l.bar != nil {
		_ = l.bar.Clear()
	}
	fmt.Fprintf(l.w, format+"\n", args...)
}

// show displays text, with done of total for the bar.
func (l *line) show(text string, done, total int64, force bool) {
	if l.bar != nil {
		l.bar.ChangeMax64(max(total, 1))
		l.bar.Describe(text)
		_ = l.bar.Set64(done)
		return
	}
	if !force && (time.Since(l.last) < time.Second || text == l.lastLine) {
		return
	}
	l.last, l.lastLine = time.Now(), text
	fmt.Fprintln(l.w, text)
}

// finish ends the status line: a terminal bar is left showing text (or
// cleared when text is ""), a plain one prints text a last time.
func (l *line) finish(text string) {
	if l.bar == nil {
		if text != "" {
			fmt.Fprintln(l.w, text)
		}
		return
	}
	if text == "" {
		_ = l.bar.Clear()
	} else {
		l.bar.Describe(text)
		_ = l.bar.Finish()
		fmt.Fprintln(l.w)
	}
	l.bar = nil
}
