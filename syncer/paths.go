package syncer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// OverlapError is a sync whose paths overlap once symbolic links are
// resolved: one of SRC, DST and the work directory is the same as, or
// inside, another. Such a sync would copy into its own input, delete it
// (a final pass with deletion over a DST that holds SRC or the work
// directory), or crawl its own state; nothing was run.
type OverlapError struct {
	// What and Of name the two paths: "SRC", "DST" or "work directory";
	// What is Of, or inside it.
	What, Of string
	// Path and OfPath are the paths as given; Resolved and OfResolved
	// with every symbolic link resolved.
	Path, OfPath         string
	Resolved, OfResolved string
}

func (e *OverlapError) Error() string {
	rel := "inside"
	if e.Resolved == e.OfResolved {
		rel = "the same directory as"
	}
	s := fmt.Sprintf("sync: %s %s is %s %s %s", e.What, e.Path, rel, e.Of, e.OfPath)
	if e.Resolved != e.Path || e.OfResolved != e.OfPath {
		s += fmt.Sprintf(" (resolved: %s and %s)", e.Resolved, e.OfResolved)
	}
	return s
}

// checkOverlap refuses a sync whose SRC, DST (when it is a path) and work
// directory are the same or nested in any direction, comparing the paths
// with every symbolic link resolved (a path that does not exist yet is
// resolved as far as it exists).
func checkOverlap(o *Options) error {
	type named struct{ name, path, resolved string }
	var ps []named
	add := func(name, p string) error {
		r, err := resolve(p)
		if err != nil {
			return fmt.Errorf("sync: %s: %w", name, err)
		}
		ps = append(ps, named{name, p, r})
		return nil
	}
	if err := add("SRC", o.Src); err != nil {
		return err
	}
	if !o.remoteDst() {
		if err := add("DST", o.Dst); err != nil {
			return err
		}
	}
	if err := add("work directory", o.Work); err != nil {
		return err
	}
	for i, a := range ps {
		for j, b := range ps {
			if i != j && within(a.resolved, b.resolved) && (a.resolved != b.resolved || i > j) {
				return &OverlapError{What: a.name, Of: b.name, Path: a.path, OfPath: b.path, Resolved: a.resolved, OfResolved: b.resolved}
			}
		}
	}
	return nil
}

// within reports whether p is dir or below it (both clean and absolute).
func within(p, dir string) bool {
	if p == dir || dir == "/" {
		return true
	}
	return strings.HasPrefix(p, dir+"/")
}

// resolve returns the absolute path p with every symbolic link resolved:
// the longest existing prefix is resolved and the rest appended.
func resolve(p string) (string, error) {
	p = filepath.Clean(p)
	var rest []string
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			for i := len(rest) - 1; i >= 0; i-- {
				r = filepath.Join(r, rest[i])
			}
			return r, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		// A dangling symlink cannot be resolved further: it is where the
		// path would be created, through the link.
		if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("%s is a symbolic link to nothing", p)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = append(rest, filepath.Base(p))
		p = parent
	}
}
