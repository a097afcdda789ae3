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
