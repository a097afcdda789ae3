package syncer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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
	// SeenAt, for an rclone remote DST, is where in DST a file drove made
	// at the top of SRC showed up.
	SeenAt string
}

func (e *OverlapError) Error() string {
	if e.SeenAt != "" {
		return fmt.Sprintf("sync: %s %s is inside %s %s: a file drove made at the top of SRC shows in DST as %s", e.What, e.Path, e.Of, e.OfPath, e.SeenAt)
	}
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

// checkOverlap refuses a sync whose SRC, DST (when it is a path, or an
// rclone remote that is a directory of this machine: see localRemote) and
// work directory are the same or nested in any direction. Paths are
// compared by identity: the (device, inode) of each path, as far as it
// exists, is looked for among the other's directory and its ancestors, so
// a symbolic link, a bind mount or another spelling of the same directory
// is caught; a path that does not exist yet is compared by its deepest
// existing directory and the names below it.
func checkOverlap(o *Options) error {
	var ps []place
	add := func(name, p string) error {
		pl, err := locate(name, p)
		if err != nil {
			return fmt.Errorf("sync: %s: %w", name, err)
		}
		ps = append(ps, pl)
		return nil
	}
	if err := add("SRC", o.Src); err != nil {
		return err
	}
	dst := o.Dst
	if o.remoteDst() {
		dst = o.localRemote(dst)
	}
	if dst != "" {
		if err := add("DST", dst); err != nil {
			return err
		}
		ps[len(ps)-1].path = o.Dst
	}
	if err := add("work directory", o.Work); err != nil {
		return err
	}
	for i, a := range ps {
		for j, b := range ps {
			if i == j || !a.within(b) {
				continue
			}
			if b.within(a) && i < j {
				continue // the same directory: reported once, in order
			}
			return &OverlapError{What: a.name, Of: b.name, Path: a.path, OfPath: b.path, Resolved: a.resolved, OfResolved: b.resolved}
		}
	}
	return nil
}

// DstError is a DST that cannot be copied into, as this machine sees it
// (checked when a node is this machine): its parent is not a directory, or
// DST exists and is not a directory. Nothing was run.
type DstError struct {
	Path   string // DST, or its parent
	Parent bool   // Path is DST's parent
	Err    error
}

func (e *DstError) Error() string {
	if e.Parent {
		return fmt.Sprintf("sync: DST's parent %s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("sync: DST %s: %v", e.Path, e.Err)
}

func (e *DstError) Unwrap() error { return e.Err }

// errNotDir is a DST (or its parent) that is there but not a directory.
var errNotDir = errors.New("not a directory")

// checkDst returns a *DstError when a node is this machine and DST (a
// path, or a remote that is a directory here) is not a directory, or does
// not exist and its parent is not a directory.
func (o *Options) checkDst() error {
	local := false
	for _, n := range o.Nodes {
		local = local || n.Local
	}
	dst := o.Dst
	if o.remoteDst() {
		dst = o.localRemote(dst)
	}
	if !local || dst == "" {
		return nil
	}
	fi, err := os.Stat(dst)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return &DstError{Path: dst, Err: errNotDir}
	case !errors.Is(err, fs.ErrNotExist):
		return &DstError{Path: dst, Err: err}
	}
	parent := filepath.Dir(dst)
	if r, err := resolve(dst); err == nil {
		parent = filepath.Dir(r)
	}
	fi, err = os.Stat(parent)
	switch {
	case err != nil:
		return &DstError{Path: parent, Parent: true, Err: err}
	case !fi.IsDir():
		return &DstError{Path: parent, Parent: true, Err: errNotDir}
	}
	return nil
}

// ident is a file's identity on this machine (see fileIdent).
type ident struct{ dev, ino uint64 }

// place is a path located on this machine: resolved, the identities of its
// deepest existing directory and of every directory above it (chain, that
// directory first; empty where the system has no identities), and the
// names below that directory that do not exist yet (rest).
type place struct {
	name, path, resolved string
	chain                []ident
	rest                 []string
}

// locate resolves p as the kernel would and records its identities.
func locate(name, p string) (place, error) {
	r, err := resolve(p)
	if err != nil {
		return place{}, err
	}
	pl := place{name: name, path: p, resolved: r}
	existing := r
	for {
		fi, err := os.Stat(existing)
		if err == nil {
			id, ok := fileIdent(fi)
			if !ok {
				pl.chain = nil
				break
			}
			pl.chain = append(pl.chain, id)
		} else if len(pl.chain) == 0 {
			pl.rest = append([]string{filepath.Base(existing)}, pl.rest...)
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		existing = parent
	}
	return pl, nil
}

// within reports whether a is b or below it: by identity where both have
// one (b's directory is a or one of a's directories), else by the resolved
// spelling.
func (a place) within(b place) bool {
	if within(a.resolved, b.resolved) {
		return true
	}
	if len(a.chain) == 0 || len(b.chain) == 0 {
		return false
	}
	if len(b.rest) == 0 {
		return slices.Contains(a.chain, b.chain[0])
	}
	// b does not exist yet: a is inside it only if a is, by name, below
	// b's deepest existing directory.
	return a.chain[0] == b.chain[0] && len(a.rest) >= len(b.rest) && slices.Equal(a.rest[:len(b.rest)], b.rest)
}

// within reports whether p is dir or below it (both clean and absolute).
func within(p, dir string) bool {
	if p == dir || dir == "/" {
		return true
	}
	return strings.HasPrefix(p, dir+"/")
}

// ResolvePath returns the absolute path p with every symbolic link
// resolved as the kernel resolves it ("lnk/.." is the directory above the
// link's target, not the directory holding lnk): the longest existing
// prefix is resolved and the rest appended. A relative p is taken from
// the current directory.
func ResolvePath(p string) (string, error) {
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		p = wd + string(filepath.Separator) + p
	}
	return resolve(p)
}

// resolve is ResolvePath for an absolute p.
func resolve(p string) (string, error) {
	var rest []string
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			for i := len(rest) - 1; i >= 0; i-- {
				r = filepath.Join(r, rest[i])
			}
			return r, nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return "", err
		}
		// A dangling symlink cannot be resolved further: it is where the
		// path would be created, through the link.
		if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("%s is a symbolic link to nothing", p)
		}
		p = strings.TrimRight(p, string(filepath.Separator))
		parent, base := filepath.Split(p)
		if parent == "" || parent == p || base == "" {
			return "", err
		}
		rest = append(rest, base)
		if p = strings.TrimRight(parent, string(filepath.Separator)); p == "" {
			p = string(filepath.Separator)
		}
	}
}

// kernelClean cleans p lexically when that cannot change what it names (it
// has no ".." component); otherwise it resolves it (see ResolvePath), since
// "lnk/.." is not lexically the directory holding lnk.
func kernelClean(p string) string {
	for _, c := range strings.Split(filepath.ToSlash(p), "/") {
		if c == ".." {
			if r, err := resolve(p); err == nil {
				return r
			}
			break
		}
	}
	return filepath.Clean(p)
}
