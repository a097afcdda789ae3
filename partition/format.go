package partition

import (
	"bufio"
	"strings"
	"unicode/utf8"
)

// ListFormat is how entries are written into list files. Every format
// keeps every name: a name a format cannot hold is reported, never dropped.
type ListFormat int

// The list formats.
const (
	// ListNUL: each path followed by a NUL byte, as it is.
	ListNUL ListFormat = iota
	// ListRsync: NUL-terminated for rsync --from0 --files-from. rsync
	// skips entries starting with '#' or ';' as comments even with
	// --from0, so those get a "./" prefix (which rsync strips again).
	ListRsync
	// ListLines: each path followed by a newline, as it is. Names with a
	// newline or carriage return cannot be written: they are skipped and
	// reported with ErrUnrepresentable.
	ListLines
	// ListRclone: newline-terminated for rclone --files-from-raw, each
	// path element in rclone's Standard encoding, which is how rclone
	// names local files internally: control characters (newline included)
	// become U+2400 symbols, DEL becomes U+2421, and characters that
	// already look encoded are quoted with U+201B. rclone's local backend
	// decodes them back, so names are copied as they are; without this a
	// name with a tab would be silently ignored by rclone. rclone itself
	// cannot open local names containing U+201B: those are reported with
	// ErrUnrepresentable.
	ListRclone
)

func (f ListFormat) sep() byte {
	if f == ListLines || f == ListRclone {
		return '\n'
	}
	return 0
}

// writeEntry writes one list entry in format f.
func writeEntry(w *bufio.Writer, f ListFormat, rel string) error {
	switch f {
	case ListRsync:
		if rel[0] == '#' || rel[0] == ';' {
			w.WriteString("./")
		}
	case ListRclone:
		rel = RclonePath(rel)
	}
	w.WriteString(rel)
	return w.WriteByte(f.sep())
}

const (
	rcloneQuote  = '\u201B' // QuoteRune: SINGLE HIGH-REVERSED-9 QUOTATION MARK
	rcloneSymbol = '\u2400' // SYMBOL FOR NULL; control character c maps to it + c
	rcloneDel    = '\u2421' // SYMBOL FOR DELETE
	fullSlash    = '\uFF0F' // FULLWIDTH SOLIDUS
	fullDot      = "\uFF0E" // FULLWIDTH FULL STOP
)

// RclonePath returns a "/"-separated relative path as rclone names it
// internally for a local source (local encoding Slash,Dot decoded, then
// rclone's Standard encoding), which is what --files-from-raw must hold.
func RclonePath(rel string) string {
	if !needsRclone(rel) {
		return rel
	}
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = rcloneStandard(decodeSlashDot(p))
	}
	return strings.Join(parts, "/")
}

// needsRclone reports whether rel has a byte that the encoding may change:
// a control character, DEL, or the lead byte of the U+2000 or U+FF00
// blocks where the symbols, the quote rune and the fullwidth forms live.
func needsRclone(rel string) bool {
	for i := 0; i < len(rel); i++ {
		if c := rel[i]; c < 0x20 || c == 0x7F || c == 0xE2 || c == 0xEF {
			return true
		}
	}
	return false
}

// decodeSlashDot is rclone's MultiEncoder(Slash|Dot).Decode for one name.
func decodeSlashDot(in string) string {
	switch in {
	case fullDot:
		return "."
	case fullDot + fullDot:
		return ".."
	case string(rcloneQuote) + fullDot:
		return fullDot
	case string(rcloneQuote) + fullDot + string(rcloneQuote) + fullDot:
		return fullDot + fullDot
	}
	if !strings.ContainsAny(in, string([]rune{rcloneSymbol, rcloneQuote, fullSlash})) {
		return in
	}
	var b strings.Builder
	unquoteNext := false
	for i, r := range in {
		unquote := unquoteNext
		unquoteNext = false
		switch r {
		case rcloneSymbol:
			if unquote {
				b.WriteRune(r)
			} else {
				b.WriteByte(0)
			}
			continue
		case rcloneQuote:
			if unquote {
				b.WriteRune(r)
			} else {
				unquoteNext = true
			}
			continue
		case fullSlash:
			if unquote {
				b.WriteRune(r)
			} else {
				b.WriteByte('/')
			}
			continue
		}
		if unquote {
			b.WriteRune(rcloneQuote)
		}
		if r == utf8.RuneError {
			_, l := utf8.DecodeRuneInString(in[i:])
			b.WriteString(in[i : i+l])
			continue
		}
		b.WriteRune(r)
	}
	if unquoteNext {
		b.WriteRune(rcloneQuote)
	}
	return b.String()
}

// rcloneStandard is rclone's encoder.Standard.Encode (Zero, Slash, Ctl,
// Del, Dot) for one name.
func rcloneStandard(in string) string {
	switch in {
	case ".":
		return fullDot
	case "..":
		return fullDot + fullDot
	case fullDot:
		return string(rcloneQuote) + fullDot
	case fullDot + fullDot:
		return string(rcloneQuote) + fullDot + string(rcloneQuote) + fullDot
	}
	var b strings.Builder
	for i, r := range in {
		switch {
		case r == 0:
			b.WriteRune(rcloneSymbol)
		case r == rcloneSymbol || r == rcloneQuote || r == fullSlash || r == rcloneDel ||
			(r > rcloneSymbol && r <= rcloneSymbol+0x1F):
			b.WriteRune(rcloneQuote)
			b.WriteRune(r)
		case r == utf8.RuneError:
			_, l := utf8.DecodeRuneInString(in[i:])
			b.WriteString(in[i : i+l])
		case r == '/':
			b.WriteRune(fullSlash)
		case r == 0x7F:
			b.WriteRune(rcloneDel)
		case r >= 1 && r <= 0x1F:
			b.WriteRune(rcloneSymbol + r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
