package hostlist

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxLine bounds one line of a node file.
const maxLine = 64 << 10

// ParseFile reads a node file: one spec per line (see ParseSpec), or a
// comma-separated list of them with host ranges (see ParseList). Lines are
// trimmed of surrounding white space (and a trailing \r); blank lines and lines
// whose first non-blank character is '#' are skipped; a trailing "# comment"
// after a spec is ignored. name is used only in error messages. The first bad
// line stops parsing with a *SpecError carrying File and Line, e.g.
// `nodes.txt:3: bad node spec "x:99999": port out of range`. Specs are returned
// in file order, unmerged (see Merge); the whole file may expand to at most
// MaxExpand of them.
func ParseFile(r io.Reader, name string) ([]Spec, error) {
	var specs []Spec
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		list, err := parseList(text, MaxExpand-len(specs))
		if err != nil {
			var se *SpecError
			if errors.As(err, &se) {
				se.File, se.Line = name, line
			}
			return nil, err
		}
		specs = append(specs, list...)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("nodes: %s:%d: line longer than %d bytes", name, line+1, maxLine)
		}
		return nil, fmt.Errorf("nodes: reading %s: %w", name, err)
	}
	return specs, nil
}
