// Package config reads drove's defaults files: "key = value" lines, blank
// lines and "#" comment lines, and "[section]" headers that scope the keys
// after them. It checks syntax only; what a key means (which flag it sets,
// which values it takes) is the caller's business.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxLine bounds one line (and so the memory a hostile file can make Parse use).
const maxLine = 64 << 10

// Setting is one "key = value" line.
type Setting struct {
	File    string // the path given to Parse
	Line    int    // 1-based
	Section string // "" before the first [section] header
	Key     string
	Value   string // unquoted if it was written in double quotes
}

// Section is a "[name]" header line.
type Section struct {
	Name string
	Line int
}

// File is a parsed defaults file.
type File struct {
	Path     string
	Sections []Section // in order of appearance
	Settings []Setting // in order of appearance
}

// Where is "file:line", for messages.
func (s Setting) Where() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// Error is a bad line (or an unreadable file, Line 0).
type Error struct {
	File string
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads and parses the file at path. A missing file gives an error
// that matches fs.ErrNotExist.
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Err: errors.Unwrap(err)}
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse reads settings from r; path names r in settings and errors. The
// format, line by line (surrounding spaces and tabs ignored, CRLF accepted):
//
//	# a comment (only on a line of its own)
//	key = value        a value is the rest of the line, trimmed
//	key = "  value "   double quotes keep spaces; Go escapes (\t, \", \\) apply
//	[section]          keys below apply to that section
//
// Keys and section names are lower-case letters, digits and '-', starting
// with a letter. The first bad line ends parsing with an *Error.
func Parse(path string, r io.Reader) (*File, error) {
	br := bufio.NewReader(r)
	out := &File{Path: path}
	section := ""
	for n := 1; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) && line == nil {
			return out, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, &Error{File: path, Line: n, Err: err}
		}
		bad := func(format string, args ...any) error {
			return &Error{File: path, Line: n, Err: fmt.Errorf(format, args...)}
		}
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if !utf8.Valid(line) {
			return nil, bad("not UTF-8 text")
		}
		if i := bytes.IndexFunc(line, isControl); i >= 0 {
			return nil, bad("control character %q", line[i])
		}
		s := strings.Trim(string(line), " \t")
		switch {
		case s == "" || s[0] == '#':
		case s[0] == '[':
			if !strings.HasSuffix(s, "]") {
				return nil, bad("section header %q has no closing ]", s)
			}
			name := strings.Trim(s[1:len(s)-1], " \t")
			if !isName(name) {
				return nil, bad("bad section name %q: want lower-case letters, digits and '-'", name)
			}
			section = name
			out.Sections = append(out.Sections, Section{Name: name, Line: n})
		default:
			key, value, ok := strings.Cut(s, "=")
			if !ok {
				return nil, bad("want key = value, got %q", s)
			}
			key = strings.Trim(key, " \t")
			if !isName(key) {
				if strings.HasPrefix(key, "-") {
					return nil, bad("bad key %q: write the flag's long name without dashes", key)
				}
				return nil, bad("bad key %q: want lower-case letters, digits and '-'", key)
			}
			value = strings.Trim(value, " \t")
			if strings.HasPrefix(value, `"`) {
				v, err := strconv.Unquote(value)
				if err != nil {
					return nil, bad("bad quoted value %s", value)
				}
				if strings.ContainsFunc(v, func(r rune) bool { return isControl(r) || r == utf8.RuneError }) {
					return nil, bad("quoted value %s holds a control character or invalid UTF-8", value)
				}
				value = v
			}
			out.Settings = append(out.Settings, Setting{File: path, Line: n, Section: section, Key: key, Value: value})
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
	}
}

// readLine returns one line without its newline (and a trailing \r), or
// an error for a line longer than maxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > maxLine+2 {
			return nil, fmt.Errorf("line longer than %d bytes", maxLine)
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if len(line) == 0 {
				return nil, err
			}
			return trimEOL(line), err
		}
		return trimEOL(line), nil
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

func isControl(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

func isName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
