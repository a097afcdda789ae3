package termview

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// printable is a job's text for a line of drove's own: as it is when every
// character prints, else Go-quoted, so that a job holding a NUL, a newline
// or a terminal escape sequence can neither break the line nor act on the
// terminal.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' && r != '\t' || r == unicode.ReplacementChar }) < 0 {
		return s
	}
	return strconv.Quote(s)
}

// excerptRunes is how much of a job's text excerpt keeps.
const excerptRunes = 100

// excerpt is printable(s) cut to about excerptRunes characters, with "..."
// where it was cut, for a line that names a job in passing.
func excerpt(s string) string {
	p := printable(s)
	if utf8.RuneCountInString(p) <= excerptRunes {
		return p
	}
	r := []rune(p)
	return string(r[:excerptRunes-3]) + "..."
}

// quotedJob is how a message names a job in passing: its text Go-quoted,
// and when the text is longer than excerptRunes, cut there and preceded by
// the job's sequence number ("12 \"make -j8 ...\""), so an 80 KB job
// costs a line, not 80 KB, in each message that names it.
func quotedJob(seq int, cmd string) string {
	if utf8.RuneCountInString(cmd) <= excerptRunes {
		return strconv.Quote(cmd)
	}
	r := []rune(cmd)
	return strconv.Itoa(seq) + " " + strconv.Quote(string(r[:excerptRunes-3])+"...")
}
