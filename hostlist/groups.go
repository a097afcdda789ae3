package hostlist

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// GroupFiles says where ClusterShell's node group files are. The caller
// finds them (drove's main: /etc/clustershell, ~/.local/etc/clustershell,
// $XDG_CONFIG_HOME/clustershell, $CLUSTERSHELL_CFGDIR); this package
// never looks at the file system on its own.
type GroupFiles struct {
	// Dirs are groups.d directories: each one's *.yaml files are read in
	// name order. A directory that does not exist is skipped.
	Dirs []string
	// Confs are groups.conf files, lowest precedence first: the last one
	// whose [Main] section sets "default" names the default group source.
	// A file that does not exist is skipped.
	Confs []string
}

// ErrNoGroups is the reason an "@group" item fails on a nil *Groups.
var ErrNoGroups = errors.New("node groups are not available here")

// Groups resolves ClusterShell node groups ("@group", "@source:group",
// "@*", "@source:*") as nodeset does, from ClusterShell's YAML group files:
// each file maps group sources to maps of group names to node sets,
//
//	racks:
//	  rack1: 'node[01-32]'
//	  rack2: ['node[33-48]', 'node50']
//	  old: '@rack1!node07'     # a group of the same source, minus a node
//	roles:
//	  gpu: '@racks:rack2'      # a group of another source
//
// A value is a node set in nodeset's syntax: a string, a list of strings,
// or words separated by white space (all joined with commas), with host
// ranges, other groups (of the same source unless "source:" says
// otherwise) and the operators ',' '!' '&' '^' applied left to right. A
// group name may hold a range ("@rack[1-2]" is both racks). "@*" is the
// source's group "all", or else every group of the source. A name without
// a source is looked up in the default source: the one groups.conf's
// [Main] default names, or else the first source of the first file (a
// default naming a source that is not in a YAML file, such as the stock
// "local", falls back to the first too).
//
// Unlike nodeset, an unknown group or source is an error (nodeset expands
// an unknown group to nothing). Files are read once, at the first group
// looked up; a *Groups is safe for concurrent use.
type Groups struct {
	files GroupFiles

	mu      sync.Mutex
	loaded  bool
	loadErr error
	sources map[string]*groupSource
	order   []string // source names in the order read
	def     string   // the default source ("" when there is none)
	memo    map[string][]string
	work    int // names the current lookup may still expand (see maxWork)
}

// groupSource is one group source: a top-level key of a YAML file.
type groupSource struct {
	name   string
	file   string
	line   int
	groups map[string]groupValue
	order  []string // group names in file order
}

// groupValue is one group's node set, its words joined with commas.
type groupValue struct {
	expr string
	line int
}

// NewGroups returns groups read from files on first use.
func NewGroups(files GroupFiles) *Groups {
	return &Groups{files: files}
}

// GroupFileError is a group file that could not be read or parsed, or a
// group whose value is not a valid node set. Line is 0 when unknown.
type GroupFileError struct {
	File  string
	Line  int
	Group string // "source:group" when the error is in a group's value
	Err   error
}

func (e *GroupFileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Group != "" {
		fmt.Fprintf(&b, "group @%s: ", e.Group)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *GroupFileError) Unwrap() error { return e.Err }

// UnknownGroupError is a reference to a group or a source that no group
// file defines.
type UnknownGroupError struct {
	Source string // the source looked in ("" when there is none)
	Group  string // "" when the source itself is unknown
	Files  []string
}

func (e *UnknownGroupError) Error() string {
	where := "no group file found"
	if len(e.Files) > 0 {
		where = "read " + strings.Join(e.Files, ", ")
	}
	switch {
	case e.Group == "":
		return fmt.Sprintf("unknown group source %q (%s)", e.Source, where)
	case e.Source == "":
		return fmt.Sprintf("unknown group @%s: no group sources (%s)", e.Group, where)
	}
	return fmt.Sprintf("unknown group @%s in source %q (%s)", e.Group, e.Source, where)
}

// Expand returns the host names a node set of nodeset's syntax stands
// for, "@group" references included (a group's own value is one such
// set), each name once, in the order first met.
func (g *Groups) Expand(expr string) ([]string, error) {
	if g == nil {
		return nil, ErrNoGroups
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.load(); err != nil {
		return nil, err
	}
	g.work = maxWork
	return g.eval(expr, g.def, nil)
}

// Sources returns the group sources read, the default first.
func (g *Groups) Sources() ([]string, error) {
	if g == nil {
		return nil, ErrNoGroups
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.load(); err != nil {
		return nil, err
	}
	out := []string{}
	if g.def != "" {
		out = append(out, g.def)
	}
	for _, s := range g.order {
		if s != g.def {
			out = append(out, s)
		}
	}
	return out, nil
}

// groupItem reports whether a list item is a group, "[K/]@ref", and
// splits it.
func groupItem(item string) (slots int, ref string, ok bool) {
	rest := item
	slots = 1
	if i := strings.IndexByte(item, '/'); i >= 0 && strings.HasPrefix(item[i+1:], "@") {
		k := item[:i]
		if k == "" || strings.Trim(k, "0123456789") != "" {
			return 0, "", false
		}
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 || n > maxSlots {
			return 0, "", false
		}
		slots, rest = n, item[i+1:]
	}
	if !strings.HasPrefix(rest, "@") {
		return 0, "", false
	}
	return slots, rest[1:], true
}

// groupSpecs turns the nodes of a group item into specs with its slots.
func (g *Groups) groupSpecs(item, ref string, slots int) ([]Spec, error) {
	if g == nil {
		return nil, &SpecError{Spec: item, Err: ErrNoGroups}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.load(); err != nil {
		return nil, err
	}
	g.work = maxWork
	names, err := g.group(ref, g.def, nil)
	if err != nil {
		var fe *GroupFileError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, &SpecError{Spec: item, Err: err}
	}
	out := make([]Spec, 0, len(names))
	for _, n := range names {
		sp, err := ParseSpec(n)
		if err != nil {
			return nil, &SpecError{Spec: item, Err: fmt.Errorf("node %q of the group: %w", n, errors.Unwrap(err))}
		}
		sp.Slots = slots
		out = append(out, sp)
	}
	return out, nil
}

// maxGroupDepth bounds how deep groups may refer to groups.
const maxGroupDepth = 64

// group resolves a reference without its '@': "name", "source:name",
// "*", "source:*", with ranges in the name. ns is the source a name
// without "source:" belongs to; stack holds the groups being resolved
// (a cycle is an error).
func (g *Groups) group(ref, ns string, stack []string) ([]string, error) {
	refs, err := g.expand(ref)
	if err != nil {
		return nil, fmt.Errorf("@%s: %w", ref, err)
	}
	var out []string
	for _, r := range refs {
		src, name := ns, r
		if s, n, ok := strings.Cut(r, ":"); ok {
			src, name = s, n
		}
		names, err := g.one(src, name, stack)
		if err != nil {
			return nil, err
		}
		out = append(out, names...)
	}
	return dedupe(out), nil
}

// one resolves one group of one source.
func (g *Groups) one(src, name string, stack []string) ([]string, error) {
	s, ok := g.sources[src]
	if !ok {
		if src == "" {
			return nil, &UnknownGroupError{Group: name, Files: g.fileList()}
		}
		return nil, &UnknownGroupError{Source: src, Files: g.fileList()}
	}
	key := src + ":" + name
	if names, ok := g.memo[key]; ok {
		return names, nil
	}
	if slices.Contains(stack, key) {
		return nil, &GroupFileError{File: s.file, Line: s.groups[name].line, Group: key,
			Err: fmt.Errorf("refers to itself (@%s)", strings.Join(append(slices.Clone(stack), key), " -> @"))}
	}
	if len(stack) >= maxGroupDepth {
		return nil, &GroupFileError{File: s.file, Line: s.groups[name].line, Group: key,
			Err: fmt.Errorf("groups nested more than %d deep", maxGroupDepth)}
	}
	var expr string
	line := s.line
	switch v, ok := s.groups[name]; {
	case ok:
		expr, line = v.expr, v.line
	case name == "*":
		// ClusterShell joins the values of every group, taken in
		// nodeset's order of their names, and evaluates the whole.
		var parts []string
		for _, n := range nodesetOrder(s.order) {
			if e := s.groups[n].expr; e != "" {
				parts = append(parts, e)
			}
		}
		expr = strings.Join(parts, ",")
	default:
		return nil, &UnknownGroupError{Source: src, Group: name, Files: []string{s.file}}
	}
	var names []string
	if expr != "" {
		var err error
		names, err = g.eval(expr, src, append(slices.Clone(stack), key))
		if err != nil {
			var fe *GroupFileError
			if errors.As(err, &fe) {
				return nil, err
			}
			return nil, &GroupFileError{File: s.file, Line: line, Group: key, Err: err}
		}
	}
	g.memo[key] = names
	return names, nil
}

// eval evaluates a node set of nodeset's syntax in source ns.
func (g *Groups) eval(expr, ns string, stack []string) ([]string, error) {
	terms, err := splitTerms(expr)
	if err != nil {
		var se *SpecError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%q: %w", expr, se.Err)
		}
		return nil, err
	}
	var out []string
	for _, t := range terms {
		var names []string
		if strings.HasPrefix(t.item, "@") {
			names, err = g.group(t.item[1:], ns, stack)
		} else {
			names, err = g.expand(t.item)
			if err != nil {
				err = fmt.Errorf("%q: %w", t.item, err)
			}
		}
		if err != nil {
			return nil, err
		}
		switch t.op {
		case ',':
			out = dedupe(append(out, names...))
		case '!':
			out = without(out, names)
		case '&':
			out = without(out, without(out, names))
		case '^':
			out = append(without(out, names), without(names, out)...)
		}
		if len(out) > MaxExpand {
			return nil, fmt.Errorf("expands to more than %d nodes", MaxExpand)
		}
	}
	return out, nil
}

// expand expands a pattern's ranges within what is left of g.work.
func (g *Groups) expand(pattern string) ([]string, error) {
	names, err := expand(pattern, min(MaxExpand, g.work))
	if err != nil {
		return nil, err
	}
	g.work -= len(names)
	return names, nil
}

// without returns a without the names in b, in order.
func without(a, b []string) []string {
	drop := make(map[string]bool, len(b))
	for _, n := range b {
		drop[n] = true
	}
	var out []string
	for _, n := range a {
		if !drop[n] {
			out = append(out, n)
		}
	}
	return out
}

func (g *Groups) fileList() []string {
	var files []string
	for _, n := range g.order {
		files = append(files, g.sources[n].file)
	}
	return dedupe(files)
}

// nodesetOrder sorts names as a ClusterShell NodeSet iterates them: by
// pattern (the name with each number replaced by "%s"), then by the
// numbers, then by their padding.
func nodesetOrder(names []string) []string {
	type key struct {
		pat  string
		nums []int64
		pads []int
	}
	keyOf := func(n string) key {
		var k key
		var pat strings.Builder
		for i := 0; i < len(n); {
			j := i
			for j < len(n) && n[j] >= '0' && n[j] <= '9' {
				j++
			}
			if j == i {
				pat.WriteByte(n[i])
				i++
				continue
			}
			d := n[i:j]
			v, _ := strconv.ParseInt(d, 10, 64)
			pad := 0
			if padded(d) || d == "00" {
				pad = len(d)
			}
			pat.WriteString("%s")
			k.nums, k.pads = append(k.nums, v), append(k.pads, pad)
			i = j
		}
		k.pat = pat.String()
		return k
	}
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int {
		ka, kb := keyOf(a), keyOf(b)
		if c := strings.Compare(ka.pat, kb.pat); c != 0 {
			return c
		}
		if c := slices.Compare(ka.nums, kb.nums); c != 0 {
			return c
		}
		return slices.Compare(ka.pads, kb.pads)
	})
	return out
}
