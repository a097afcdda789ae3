package filecopy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNames: a node's name always gives a directory name that is one path
// element (itself when it already is one), and QuoteName always gives one
// line of valid UTF-8 that names only the name.
func FuzzNames(f *testing.F) {
	for _, s := range append([]string{"", ".", "..", "a/b", "../x", "user@host:22", "\x00", "a\\b"}, hostileNames...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := dirName(s)
		if err := checkName(d); err != nil {
			t.Fatalf("dirName(%q) = %q: %v", s, d, err)
		}
		if checkName(s) == nil && d != s {
			t.Fatalf("dirName(%q) = %q, want it unchanged", s, d)
		}
		q := QuoteName(s)
		if strings.ContainsAny(q, "\n\r") || !utf8.ValidString(q) {
			t.Fatalf("QuoteName(%q) = %q", s, q)
		}
	})
}
