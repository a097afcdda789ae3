package hostlist

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxGroupFile bounds one group file.
const maxGroupFile = 64 << 20

// load reads the group files once; g.mu is held.
func (g *Groups) load() error {
	if g.loaded {
		return g.loadErr
	}
	g.loaded = true
	g.sources, g.memo = map[string]*groupSource{}, map[string][]string{}
	g.loadErr = g.readFiles()
	return g.loadErr
}

func (g *Groups) readFiles() error {
	seen := map[string]bool{}
	for _, dir := range g.files.Dirs {
		dir = filepath.Clean(dir)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return &GroupFileError{File: dir, Err: err}
		}
		sort.Strings(names)
		for _, name := range names {
			data, err := os.ReadFile(name)
			if errors.Is(err, fs.ErrPermission) {
				continue // as ClusterShell: a file this user may not read is skipped
			}
			if err != nil {
				return &GroupFileError{File: name, Err: err}
			}
			if len(data) > maxGroupFile {
				return &GroupFileError{File: name, Err: fmt.Errorf("larger than %d bytes", maxGroupFile)}
			}
			if err := g.addFile(name, data); err != nil {
				return err
			}
		}
	}
	def, err := defaultSource(g.files.Confs)
	if err != nil {
		return err
	}
	if _, ok := g.sources[def]; ok {
		g.def = def
	} else if len(g.order) > 0 {
		g.def = g.order[0]
	}
	return nil
}

// yamlLine finds the line in yaml.v3's error text ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parserProblems are the messages of yaml.v3's parser (not its scanner),
// whose line it reports counted from 0.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'": true, "did not find expected ',' or '}'": true,
	"did not find expected '-' indicator": true, "did not find expected <document start>": true,
	"did not find expected <stream-start>": true, "did not find expected key": true,
	"did not find expected node content": true, "found duplicate %TAG directive": true,
	"found duplicate %YAML directive": true, "found incompatible YAML document": true,
	"found undefined tag handle": true,
}

// addFile parses one YAML group file into sources.
func (g *Groups) addFile(name string, data []byte) error {
	bad := func(n *yaml.Node, format string, args ...any) error {
		line := 0
		if n != nil {
			line = n.Line
		}
		return &GroupFileError{File: name, Line: line, Err: fmt.Errorf(format, args...)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			if line > 0 && parserProblems[m[2]] {
				line++ // yaml.v3 numbers the lines of its parser's errors from 0
			}
			return &GroupFileError{File: name, Line: line, Err: errors.New(m[2])}
		}
		return &GroupFileError{File: name, Err: errors.New(msg)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || deref(doc.Content[0]).Kind != yaml.MappingNode {
		var at *yaml.Node
		if len(doc.Content) > 0 {
			at = doc.Content[0]
		}
		return bad(at, "not a map of group sources (source: {group: nodes})")
	}
	top := deref(doc.Content[0])
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := deref(top.Content[i]), deref(top.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			return bad(k, "group source name %q is not a string (add quotes?)", k.Value)
		}
		if prev, ok := g.sources[k.Value]; ok {
			return bad(k, "group source %q is already defined in %s:%d", k.Value, prev.file, prev.line)
		}
		if v.Kind != yaml.MappingNode {
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				return bad(k, "group source %q has no groups (want source: {group: nodes})", k.Value)
			}
			return bad(v, "group source %q is not a map of groups (want source: {group: nodes})", k.Value)
		}
		src := &groupSource{name: k.Value, file: name, line: k.Line, groups: map[string]groupValue{}}
		for j := 0; j+1 < len(v.Content); j += 2 {
			gk, gv := deref(v.Content[j]), deref(v.Content[j+1])
			if gk.Kind != yaml.ScalarNode || gk.Tag != "!!str" {
				return bad(gk, "group name %q in source %q is not a string (add quotes?)", gk.Value, k.Value)
			}
			words, err := groupWords(gv)
			if err != nil {
				return bad(gv, "group %q in source %q: %v", gk.Value, k.Value, err)
			}
			if _, ok := src.groups[gk.Value]; !ok {
				src.order = append(src.order, gk.Value)
			}
			src.groups[gk.Value] = groupValue{expr: strings.Join(words, ","), line: gv.Line}
		}
		g.sources[k.Value] = src
		g.order = append(g.order, k.Value)
	}
	return nil
}

// deref follows a YAML alias to its anchor.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// groupWords splits a group's value into words as ClusterShell does: a
// string, or a list of strings, split at white space.
func groupWords(v *yaml.Node) ([]string, error) {
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return nil, nil
	case v.Kind == yaml.ScalarNode && v.Tag == "!!str":
		return strings.Fields(v.Value), nil
	case v.Kind == yaml.SequenceNode:
		var words []string
		for _, e := range v.Content {
			e = deref(e)
			if e.Kind != yaml.ScalarNode || e.Tag != "!!str" {
				return nil, fmt.Errorf("list item %q is not a string (add quotes?)", e.Value)
			}
			words = append(words, strings.Fields(e.Value)...)
		}
		return words, nil
	}
	return nil, fmt.Errorf("value %q is not a string or a list of strings (add quotes?)", v.Value)
}

// defaultSource reads "default" from the [Main] section of ClusterShell's
// groups.conf files (INI, "key: value" or "key = value", '#' and ';'
// comments); the last file that sets it wins. Missing files are skipped.
func defaultSource(confs []string) (def string, err error) {
	for _, name := range confs {
		data, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			continue
		}
		if err != nil {
			return "", &GroupFileError{File: name, Err: err}
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, maxLine)
		section, n := "", 0
		for sc.Scan() {
			n++
			text := strings.TrimSpace(sc.Text())
			switch {
			case text == "" || text[0] == '#' || text[0] == ';':
			case text[0] == '[' && strings.HasSuffix(text, "]"):
				section = strings.TrimSpace(text[1 : len(text)-1])
			case section == "Main":
				i := strings.IndexAny(text, ":=")
				if i < 0 {
					continue
				}
				if strings.ToLower(strings.TrimSpace(text[:i])) == "default" {
					def = strings.TrimSpace(text[i+1:])
				}
			}
		}
		if err := sc.Err(); err != nil {
			return "", &GroupFileError{File: name, Line: n + 1, Err: err}
		}
	}
	return def, nil
}
