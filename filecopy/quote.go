package filecopy

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// QuoteName returns name as it is when it is printable UTF-8 without
// spaces at its ends, else Go-quoted (so a newline or a byte that is not
// UTF-8 cannot break or garble a line of a report).
func QuoteName(name string) string {
	if name == "" || !utf8.ValidString(name) {
		return strconv.Quote(name)
	}
	for i, r := range name {
		if !unicode.IsPrint(r) || (r == ' ' && (i == 0 || i == len(name)-1)) || r == '"' {
			return strconv.Quote(name)
		}
	}
	return name
}
