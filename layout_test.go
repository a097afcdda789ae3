package main

// The import rules of CONTRIBUTING.md ("Code layout"), enforced as go/build's
// deps_test.go enforces the standard library's: every Go file of the module,
// for every operating system, is read for its imports, and a package that
// imports what its row does not allow fails the test.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

const modulePath = "github.com/drove-dev/drove"

// mayImport is the "may import" column of CONTRIBUTING.md: for each package
// (by its directory in the module), the packages of this module and the
// third-party modules its non-test files may import. The standard library is
// always allowed. A package missing from the table is an error, so a new
// package gets a row here and in CONTRIBUTING.md.
var mayImport = map[string][]string{
	"internal/shquote":    {},
	"internal/sshpattern": {},
	"hostlist":            {"go.yaml.in/yaml/v3"},
	"jobs":                {},
	"copytool":            {"internal/shquote"},
	"partition":           {"copytool", "internal/shquote", "github.com/charlievieth/fastwalk", "golang.org/x/sys"},
	"sshconfig":           {"internal/sshpattern"},
	"knownhosts":          {"internal/sshpattern", "golang.org/x/crypto"},
	"nodes":               {"hostlist", "sshconfig", "knownhosts", "internal/sshpattern", "golang.org/x/crypto", "golang.org/x/sys"},
	"runner":              {"jobs", "internal/shquote", "internal/keepalive", "internal/randhex", "golang.org/x/crypto", "golang.org/x/sys"},
	"records":             {"runner", "jobs", "golang.org/x/sys"},
	"syncer":              {"partition", "copytool", "runner", "jobs", "internal/randhex", "golang.org/x/sys"},
	"filecopy":            {"nodes", "hostlist", "internal/shquote", "internal/keepalive", "internal/randhex", "github.com/pkg/sftp", "golang.org/x/crypto", "golang.org/x/sys"},
	"gateway":             {"runner", "internal/keepalive", "internal/randhex", "github.com/pkg/sftp", "golang.org/x/crypto"},
	"internal/keepalive":  {"golang.org/x/crypto"},
	"internal/randhex":    {},
	"topology":            {"hostlist"},
	"termview":            {"syncer", "partition", "runner", "hostlist", "jobs", "records", "filecopy", "golang.org/x/term", "golang.org/x/sys"},
	"":                    {"*"}, // package main wires everything
	// Test support: imported by test files (and bench/) only.
	"internal/sshtest":  {"github.com/gliderlabs/ssh", "github.com/pkg/sftp", "golang.org/x/crypto"},
	"internal/sshdtest": {"golang.org/x/crypto"},
	"internal/tmuxtest": {},
	"internal/testkit":  {"github.com/stretchr/testify"},
	"bench/*":           {"*"},
	"internal/mangen":   {"github.com/alecthomas/kong"},
	// The command line's reflections, read from kong's model for package
	// main: the man page and the completion scripts.
	"internal/completion": {"github.com/alecthomas/kong"},
	// The defaults file's syntax; main maps its keys to flags.
	"internal/config": {},
}

// cliModel are the packages that read kong's model for package main (not
// libraries: knowing the command line is their job).
var cliModel = []string{"internal/mangen", "internal/completion"}

// testOnly are the packages no non-test file outside bench/ may import.
var testOnly = []string{"internal/sshtest", "internal/sshdtest", "internal/tmuxtest", "internal/testkit"}

// testMayImport is what any test file may import besides its package's row.
var testMayImport = []string{"internal/sshtest", "internal/sshdtest", "internal/tmuxtest", "internal/testkit",
	"github.com/stretchr/testify", "golang.org/x/crypto", "github.com/gliderlabs/ssh", "github.com/pkg/sftp",
	"github.com/kevinburke/ssh_config", "internal/shquote"}

// never holds the rules that hold for test files too: runner does not know
// how nodes are reached, and no library knows the command line.
var never = map[string][]string{
	"runner":    {"nodes", "hostlist", "sshconfig", "knownhosts"},
	"*library*": {"github.com/alecthomas/kong"},
}

type goFile struct {
	dir, name string
	test      bool
	imports   []string
	ast       *ast.File
}

// moduleFiles reads every .go file of the module (all build tags), skipping
// testdata and hidden directories.
func moduleFiles(t *testing.T) []goFile {
	t.Helper()
	var files []goFile
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || d.Name() == "dist") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		gf := goFile{dir: filepath.ToSlash(filepath.Dir(p)), name: d.Name(), test: strings.HasSuffix(p, "_test.go"), ast: f}
		if gf.dir == "." {
			gf.dir = ""
		}
		for _, im := range f.Imports {
			s, _ := strconv.Unquote(im.Path.Value)
			gf.imports = append(gf.imports, s)
		}
		files = append(files, gf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// rowOf is the mayImport key that governs dir.
func rowOf(dir string) (string, bool) {
	if _, ok := mayImport[dir]; ok {
		return dir, true
	}
	if strings.HasPrefix(dir, "bench/") {
		return "bench/*", true
	}
	return "", false
}

// allowedBy says whether imp matches an entry of list: a package of this
// module by its directory, or a third-party module path (and its packages).
func allowedBy(list []string, imp string) bool {
	for _, a := range list {
		if a == "*" {
			return true
		}
		full := a
		if !strings.Contains(a, ".") {
			full = modulePath + "/" + a
		}
		if imp == full || strings.HasPrefix(imp, full+"/") {
			return true
		}
	}
	return false
}

func isStd(imp string) bool { return !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") }

func TestImportRules(t *testing.T) {
	files := moduleFiles(t)
	if len(files) < 50 {
		t.Fatalf("read only %d Go files: is the test running in the module root?", len(files))
	}
	var bad []string
	for _, f := range files {
		row, ok := rowOf(f.dir)
		if !ok {
			bad = append(bad, f.dir+": a package with no row in the import rules (layout_test.go mayImport, CONTRIBUTING.md)")
			continue
		}
		library := row != "" && !strings.HasPrefix(row, "bench/") && !slices.Contains(cliModel, row)
		for _, imp := range f.imports {
			if isStd(imp) {
				continue
			}
			where := path.Join(f.dir, f.name)
			local := strings.TrimPrefix(imp, modulePath+"/")
			for _, n := range never[row] {
				if allowedBy([]string{n}, imp) {
					bad = append(bad, where+": imports "+imp+", which "+row+" must never import")
				}
			}
			if library && allowedBy(never["*library*"], imp) {
				bad = append(bad, where+": a library imports "+imp+" (only package main knows the command line)")
			}
			if !f.test && !strings.HasPrefix(row, "bench/") && !strings.HasPrefix(row, "internal/") && slices.Contains(testOnly, local) {
				bad = append(bad, where+": imports the test-only package "+local)
			}
			if allowedBy(mayImport[row], imp) || (f.test && (allowedBy(testMayImport, imp) || imp == modulePath+"/"+row)) {
				continue
			}
			bad = append(bad, where+": imports "+imp+", not in its row ("+strings.Join(mayImport[row], ", ")+")")
		}
	}
	sort.Strings(bad)
	for _, b := range slices.Compact(bad) {
		t.Error(b)
	}
}

// TestImportRulesCatchAViolation checks the checker: a runner file importing
// nodes, and a library importing kong, are reported.
func TestImportRulesCatchAViolation(t *testing.T) {
	if allowedBy(mayImport["runner"], modulePath+"/nodes") {
		t.Fatal("runner's row allows nodes")
	}
	if !allowedBy(never["runner"], modulePath+"/nodes/sub") {
		t.Fatal("runner may import a package below nodes")
	}
	if !allowedBy(never["*library*"], "github.com/alecthomas/kong") {
		t.Fatal("kong is not refused to libraries")
	}
	if allowedBy(mayImport["jobs"], modulePath+"/runner") {
		t.Fatal("jobs may import runner")
	}
}

// TestLibrariesNameNoFlag: a library's messages never name one of drove's
// command-line flags (the command maps typed errors to flags). Every string
// literal of every non-test file outside package main and bench/ is checked
// for "--NAME" where NAME is a long flag of drove. copytool is exempt: it
// writes rsync's and rclone's own flags (--delete, --exclude), which share
// names with drove's.
func TestLibrariesNameNoFlag(t *testing.T) {
	var cli CLI
	p, err := kong.New(&cli, kong.Vars{"version": "test"})
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			flags[f.Name] = true
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(p.Model.Node)
	for _, common := range []string{"help", "version"} {
		delete(flags, common)
	}
	if len(flags) < 20 {
		t.Fatalf("found only %d flags in drove's command line", len(flags))
	}
	flagRE := regexp.MustCompile(`(?:^|[^-\w])--([a-z][a-z0-9-]*)`)
	var bad []string
	for _, f := range moduleFiles(t) {
		if f.test || f.dir == "" || strings.HasPrefix(f.dir, "bench") || strings.HasPrefix(f.dir, "internal/") || f.dir == "copytool" {
			continue
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range flagRE.FindAllStringSubmatch(s, -1) {
				if flags[m[1]] && !toolFlag[m[1]] {
					bad = append(bad, path.Join(f.dir, f.name)+": names drove's flag --"+m[1]+" in "+strconv.Quote(s))
				}
			}
			return true
		})
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// toolFlag are drove flags named like rsync's or rclone's own, which a
// library may write when it builds or reads a copy tool's command line.
var toolFlag = map[string]bool{"delete": true, "exclude": true, "checksum": true, "dry-run": true, "max-delete": true}
