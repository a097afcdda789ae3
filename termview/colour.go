package termview

import (
	"io"
	"os"

	"golang.org/x/term"
)

// The colours of node names, clush's: bright blue on stdout (labels and
// --gather headers), bright red on stderr.
const (
	colourStdout = "\033[94m"
	colourStderr = "\033[91m"
	colourReset  = "\033[0m"
)

// Colours reports whether node names written to w are coloured: w is a
// terminal and noColor (NO_COLOR set and not empty, see no-color.org) is
// false.
func Colours(w io.Writer, noColor bool) bool {
	f, ok := w.(*os.File)
	return !noColor && ok && term.IsTerminal(int(f.Fd()))
}

// StdoutLabel is a label ("node: ") coloured for stdout.
func StdoutLabel(s string) string { return colourStdout + s + colourReset }

// StderrLabel is a label ("node: ") coloured for stderr.
func StderrLabel(s string) string { return colourStderr + s + colourReset }
