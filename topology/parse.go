package topology

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/drove-dev/drove/hostlist"
)

// Error is a topology file that cannot be used, with the line at fault
// (0 when the fault is the whole file's).
type Error struct {
	File string
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("topology %s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("topology %s: %v", e.File, e.Err)
}

// Unwrap returns the reason.
func (e *Error) Unwrap() error { return e.Err }

// ErrOverlappingSources is why Parse refuses two routes whose sources
// share some machines without being the same set: ClusterShell accepts
// such a file, but the route to a node then depends on which gateway of a
// set happens to carry it.
var ErrOverlappingSources = errors.New("route sources overlap without being the same set (a node's route would depend on which gateway carries it)")

// maxLine bounds one line of the file.
const maxLine = 1 << 20

// MaxNames bounds how many names the node sets of one file may hold in
// all (ten times the 100,000 nodes drove's gateways aim at), so that a
// file of many huge ranges is an error, not memory exhausted.
const MaxNames = hostlist.MaxExpand

// Topology is a parsed topology file: its routes in the file's order.
type Topology struct {
	file   string
	routes []*route
	idx    index
}

// route is one "SRC: DST" line.
type route struct {
	line     int
	src, dst set
	key      string // key(src)
}

// entry is one option of an INI section as configparser keeps it.
type entry struct {
	key, value string
	line       int // the key's line
	cont       bool
}

// Parse reads a topology file from r; name is the file's name in
// messages. groups resolves "@group" in node sets (nil: none). Bad input
// is an *Error naming name and the line.
//
// Besides what ClusterShell refuses, Parse refuses: a node name drove
// cannot reach (spaces, control characters, "K/", "user@", ":port"; ClusterShell takes
// "a b" as one node named "a b"), a value continued on an indented line
// (ClusterShell joins it into a name with a newline in it), a '%'
// (ClusterShell's configparser interpolates it), an empty source set,
// sources that overlap without being equal (ErrOverlappingSources), and
// node sets of more than MaxNames names in all.
func Parse(r io.Reader, name string, groups *hostlist.Groups) (*Topology, error) {
	entries, err := readINI(r, name)
	if err != nil {
		return nil, err
	}
	t := &Topology{file: name}
	names := 0
	for _, en := range entries {
		bad := func(format string, args ...any) error {
			return &Error{File: name, Line: en.line, Err: fmt.Errorf(format, args...)}
		}
		if en.cont {
			return nil, bad("a value continued on an indented line (ClusterShell would read one node name with a newline in it)")
		}
		if strings.Contains(en.key, "%") || strings.Contains(en.value, "%") {
			return nil, bad("'%%' (ClusterShell's configparser interpolates it; node names have none)")
		}
		src, err := nodeSet(en.key, groups)
		if err != nil {
			return nil, bad("source %q: %v", en.key, err)
		}
		if len(src) == 0 {
			return nil, bad("source %q names no machine", en.key)
		}
		dst, err := nodeSet(en.value, groups)
		if err != nil {
			return nil, bad("destination %q: %v", en.value, err)
		}
		if names += len(src) + len(dst); names > MaxNames {
			return nil, bad("the file's node sets hold more than %d names in all", MaxNames)
		}
		rt := &route{line: en.line, src: src, dst: dst}
		if err := t.add(rt); err != nil {
			return nil, bad("%q: %w", en.key+": "+en.value, err)
		}
	}
	return t, nil
}

// nodeSet expands a node set of the file into names.
func nodeSet(s string, groups *hostlist.Groups) (set, error) {
	s = strings.TrimSpace(s)
	out := set{}
	if s == "" {
		return out, nil
	}
	specs, err := groups.ParseList(s)
	if err != nil {
		return nil, err
	}
	for _, sp := range specs {
		if sp.Local() || sp.Slots != 1 || sp.User != "" || sp.Port != 0 || strings.ContainsFunc(sp.Host, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("%q is not a machine's name", sp.String())
		}
		out[sp.Host] = struct{}{}
	}
	return out, nil
}

// readINI reads the file as Python's configparser (strict, ':' and '='
// delimiters, '#' and ';' comment lines, case-sensitive keys) and returns
// the options of [routes] (else [Main]), those of [DEFAULT] first, as
// configparser's items() gives them.
func readINI(r io.Reader, name string) ([]entry, error) {
	type section struct {
		name    string
		entries []entry
	}
	var (
		sections   = map[string]*section{}
		defaults   = &section{name: "DEFAULT"}
		cur        *section
		last       = -1 // index in cur.entries of the option being read; -1 none
		indent     = 0  // the option line's indent
		seenOption = map[[2]string]bool{}
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	sc.Split(universalLines)
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Text()
		bad := func(format string, args ...any) error {
			return &Error{File: name, Line: line, Err: fmt.Errorf(format, args...)}
		}
		if strings.ContainsRune(raw, 0) {
			return nil, bad("a NUL byte")
		}
		val := strings.TrimSpace(raw)
		if strings.HasPrefix(val, "#") || strings.HasPrefix(val, ";") {
			continue
		}
		if val == "" {
			if cur != nil && last >= 0 {
				// configparser keeps a blank line inside a value when
				// an indented line continues it.
				cur.entries[last].value += "\n"
			}
			continue
		}
		ind := len(raw) - len(strings.TrimLeft(raw, " \t\f\v"))
		if cur != nil && last >= 0 && ind > indent {
			cur.entries[last].value += "\n" + val
			cur.entries[last].cont = true
			continue
		}
		indent = ind
		if strings.HasPrefix(val, "[") && strings.LastIndex(val, "]") > 1 {
			h := val[1:strings.LastIndex(val, "]")]
			last = -1
			if h == "DEFAULT" {
				cur = defaults
				continue
			}
			if sections[h] != nil {
				return nil, bad("section [%s] a second time", h)
			}
			cur = &section{name: h}
			sections[h] = cur
			continue
		}
		if cur == nil {
			return nil, bad("%q before any section header (want [routes])", val)
		}
		i := strings.IndexAny(val, ":=")
		if i <= 0 || strings.TrimSpace(val[:i]) == "" {
			return nil, bad("%q is not 'NODESET: NODESET'", val)
		}
		key := strings.TrimRightFunc(val[:i], unicode.IsSpace)
		if seenOption[[2]string{cur.name, key}] {
			return nil, bad("%q is a source a second time in [%s] (give it one line)", key, cur.name)
		}
		seenOption[[2]string{cur.name, key}] = true
		cur.entries = append(cur.entries, entry{key: key, value: strings.TrimSpace(val[i+1:]), line: line})
		last = len(cur.entries) - 1
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{File: name, Line: line + 1, Err: err}
	}
	sec := sections["routes"]
	if sec == nil {
		sec = sections["Main"]
	}
	if sec == nil {
		return nil, &Error{File: name, Err: errors.New("no [routes] section")}
	}
	// items(): the defaults' keys first (a section's own value replaces
	// a default's in place), then the section's other keys.
	var out []entry
	own := map[string]int{}
	for i, en := range sec.entries {
		own[en.key] = i
	}
	used := map[string]bool{}
	for _, en := range defaults.entries {
		if i, ok := own[en.key]; ok {
			out = append(out, sec.entries[i])
			used[en.key] = true
			continue
		}
		out = append(out, en)
	}
	for _, en := range sec.entries {
		if !used[en.key] {
			out = append(out, en)
		}
	}
	for i := range out {
		out[i].value = strings.TrimRight(out[i].value, " \t\n\r\f\v")
	}
	return out, nil
}

// universalLines splits lines as Python reads a text file: "\n", "\r\n"
// and a lone "\r" each end a line.
func universalLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	for i, c := range data {
		switch c {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // is a "\n" next?
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
