package termview

import (
	"strconv"
	"strings"
	"unicode"
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
