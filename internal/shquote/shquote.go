// Package shquote quotes strings as single words for a POSIX shell.
package shquote

import "strings"

// Quote returns s as one POSIX shell word that expands to exactly s: it is
// wrapped in single quotes, and each single quote inside is closed, escaped
// and reopened, so a'b becomes
//
//	'a'\''b'
//
// Words made only of characters no shell treats specially are returned as
// they are, so generated command lines stay readable.
func Quote(s string) string {
	if s != "" && plain(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// plain reports whether every byte of s is safe unquoted in any position
// except the first, where a leading '-' is also fine for a shell (it is the
// program's job to treat it as data, and callers put "--" or a path prefix
// before such words).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '/' || c == ',' || c == ':' || c == '+' || c == '@' || c == '%' || c == '=':
			if i == 0 && c == '=' {
				return false
			}
		default:
			return false
		}
	}
	return true
}
