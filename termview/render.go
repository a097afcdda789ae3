package termview

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// barWidth is the width of the bar between its brackets.
const barWidth = 20

// spinner frames, ASCII so every terminal gives them one column.
const spinner = `|/-\`

// render lays st out in at most width columns: the text, then the
// percentage and the bar when the total is known. When that does not
// fit, the bar goes first, then the text is cut (ending in "..."), the
// percentage kept. Control characters become '?'; a rune outside ASCII is
// counted as two columns, so a wide character cannot push it over.
func render(st Status, width, frame int) string {
	if width <= 0 {
		return ""
	}
	text := sanitize(st.Text)
	if st.Spin {
		text = string(spinner[frame%len(spinner)]) + " " + text
	}
	var pct, bar string
	if st.Total > 0 {
		// In floating point: byte counts times 100 overflow an int64.
		frac := float64(min(max(st.Done, 0), st.Total)) / float64(st.Total)
		pct = fmt.Sprintf(" %3d%%", int(frac*100))
		fill := int(frac * barWidth)
		bar = " [" + strings.Repeat("#", fill) + strings.Repeat(".", barWidth-fill) + "]"
	}
	tw := columns(text)
	switch {
	case tw+len(pct)+len(bar) <= width:
		return text + pct + bar
	case tw+len(pct) <= width:
		return text + pct
	case len(pct) >= width:
		return cut(text, width)
	}
	return cut(text, width-len(pct)) + pct
}

// cut shortens s to at most width columns, marking the cut with "...".
func cut(s string, width int) string {
	if columns(s) <= width {
		return s
	}
	const mark = "..."
	if width <= len(mark) {
		return mark[:width]
	}
	var b strings.Builder
	w := 0
	for _, r := range s {
		cw := runeColumns(r)
		if w+cw > width-len(mark) {
			break
		}
		b.WriteRune(r)
		w += cw
	}
	return b.String() + mark
}

// sanitize makes s one line of printable characters.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && r < 0xa0) }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

func columns(s string) int {
	n := 0
	for _, r := range s {
		n += runeColumns(r)
	}
	return n
}

func runeColumns(r rune) int {
	if r < utf8.RuneSelf {
		return 1
	}
	return 2
}
