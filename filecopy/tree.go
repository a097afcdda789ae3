package filecopy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/drove-dev/drove/internal/randhex"
)

// errStop ends a node's copy early: its connection died or the run is
// being interrupted. The reason was reported already.
var errStop = errors.New("filecopy: stopped")

// tree copies entries from src to dst for one node and records each
// failure in res; it goes on after a failure that concerns one path.
type tree struct {
	src, dst FS
	res      *NodeResult
	mu       *sync.Mutex   // guards res with the other copies in flight
	sem      chan struct{} // a slot per file copy in flight
	// stop reports whether the node must stop: the connection died or the
	// run is being interrupted (it records the reason itself).
	stop func() bool
	// untrusted: src is a node's listing (Pull). Names are checked and
	// setuid/setgid bits dropped.
	untrusted bool
	// fail reports a path's failure. The path named is on the node.
	fail func(path string, err error)
	// again is what this node's copies before this one left (redo.go).
	again *redo
	// temps are the temporary names made on dst and not yet renamed or
	// removed (guarded by mu).
	temps map[string]bool
}

// copyEntry copies the entry at srcPath (described by fi, from Lstat) to
// dstPath. It returns errStop when the node must stop.
func (t *tree) copyEntry(srcPath string, fi fs.FileInfo, dstPath string) error {
	if t.stop() {
		return errStop
	}
	nodePath := srcPath
	if !t.untrusted {
		nodePath = dstPath
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		if err := t.copyFile(srcPath, fi, dstPath); err != nil {
			t.fail(nodePath, err)
		}
	case m&fs.ModeSymlink != 0:
		if err := t.copyLink(srcPath, dstPath); err != nil {
			t.fail(nodePath, err)
		}
	case m.IsDir():
		return t.copyDir(srcPath, fi, dstPath)
	default:
		t.fail(nodePath, fmt.Errorf("%w (%s)", ErrNotCopied, typeName(m)))
	}
	return nil
}

// ErrNotCopied is the error for a file that is neither a regular file, a
// directory nor a symbolic link.
var ErrNotCopied = errors.New("not a regular file, directory or symbolic link: not copied")

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "mode " + m.String()
}

// mode is the mode to give a copy of fi: permissions and sticky, and setuid
// and setgid unless the source is untrusted.
func (t *tree) mode(fi fs.FileInfo) fs.FileMode {
	keep := fs.ModePerm | fs.ModeSticky
	if !t.untrusted {
		keep |= fs.ModeSetuid | fs.ModeSetgid
	}
	return fi.Mode() & keep
}

// tempName is a fresh temporary name in the directory of p.
func (t *tree) tempName(p string) string {
	return t.dst.Join(dirOf(p), ".drove-tmp-"+randhex.String(8))
}

// dirOf is the directory part of p, "" for a bare name; p uses "/" (SFTP)
// or the local separator, and Join with "" keeps a bare name bare.
func dirOf(p string) string {
	i := strings.LastIndexAny(p, `/`+string(os.PathSeparator))
	switch {
	case i < 0:
		return ""
	case i == 0:
		return p[:1]
	}
	return p[:i]
}

func (t *tree) copyFile(srcPath string, fi fs.FileInfo, dstPath string) (err error) {
	r, err := t.src.Open(srcPath)
	if err != nil {
		return err
	}
	defer r.Close()
	tmp := t.tempName(dstPath)
	t.track(tmp)
	w, err := t.dst.CreateExcl(tmp)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && t.dst.Remove(tmp) == nil {
			t.untrack(tmp)
		}
	}()
	n, err := io.Copy(w, r)
	if err == nil && fi.Size() != n && !t.untrusted {
		err = fmt.Errorf("changed while being copied: read %d bytes of %d", n, fi.Size())
	}
	if err != nil {
		_ = w.Close()
		return err
	}
	// Every byte is written (acknowledged): closing and setting the mode
	// and mtime are independent requests, sent together rather than one
	// round trip after the other. The file gets its real name only after
	// all three.
	if err := together(w.Close,
		func() error { return t.dst.Chmod(tmp, t.mode(fi)) },
		func() error { return t.dst.Chtimes(tmp, fi.ModTime()) }); err != nil {
		return err
	}
	if err := t.dst.Rename(tmp, dstPath); err != nil {
		return err
	}
	t.untrack(tmp)
	t.mu.Lock()
	t.res.Files++
	t.res.Bytes += n
	t.mu.Unlock()
	return nil
}

// together runs calls concurrently and returns the first of their errors
// in argument order.
func together(calls ...func() error) error {
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, f := range calls[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i+1] = f()
		}()
	}
	errs[0] = calls[0]()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tree) copyLink(srcPath, dstPath string) (err error) {
	target, err := t.src.Readlink(srcPath)
	if err != nil {
		return err
	}
	tmp := t.tempName(dstPath)
	t.track(tmp)
	if err := t.dst.Symlink(target, tmp); err != nil {
		return err
	}
	if err := t.dst.Rename(tmp, dstPath); err != nil {
		if t.dst.Remove(tmp) == nil {
			t.untrack(tmp)
		}
		return err
	}
	t.untrack(tmp)
	t.mu.Lock()
	t.res.Links++
	t.mu.Unlock()
	return nil
}

func (t *tree) copyDir(srcPath string, fi fs.FileInfo, dstPath string) error {
	nodePath := srcPath
	if !t.untrusted {
		nodePath = dstPath
	}
	if err := t.mkdir(dstPath); err != nil {
		t.fail(nodePath, err)
		return nil
	}
	ents, err := t.src.ReadDir(srcPath)
	if err != nil {
		t.fail(srcPathFor(t, srcPath, nodePath), err)
	}
	// Files and links go several at a time (FilesInFlight); a directory
	// waits for those listed before it. The directory's own mode and mtime
	// wait for everything in it.
	var wg sync.WaitGroup
	seen := make(map[string]bool, len(ents))
	for _, e := range ents {
		name := e.Name()
		if err := checkName(name); err != nil {
			t.fail(t.src.Join(srcPath, name), err)
			continue
		}
		from, to := t.src.Join(srcPath, name), t.dst.Join(dstPath, name)
		if seen[name] {
			// Listed twice (only a hostile node does that): in listing order.
			wg.Wait()
		}
		seen[name] = true
		if m := e.Mode(); m.IsRegular() || m&fs.ModeSymlink != 0 {
			if t.stop() {
				wg.Wait()
				return errStop
			}
			t.sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-t.sem }()
				_ = t.copyEntry(from, e, to) // a stop is seen by the loop
			}()
			continue
		}
		// What was listed before it is in place first, in listing order (a
		// link and then a directory of the same name meet as listed).
		wg.Wait()
		if err := t.copyEntry(from, e, to); err != nil {
			return err
		}
	}
	wg.Wait()
	if t.stop() {
		return errStop
	}
	if err := t.dst.Chmod(dstPath, t.mode(fi)); err != nil {
		t.fail(nodePath, err)
		return nil
	}
	if err := t.dst.Chtimes(dstPath, fi.ModTime()); err != nil {
		t.fail(nodePath, err)
		return nil
	}
	t.mu.Lock()
	t.res.Dirs++
	t.mu.Unlock()
	return nil
}

// srcPathFor names a listing failure: the node's path when pulling, the
// local source otherwise.
func srcPathFor(t *tree, srcPath, nodePath string) string {
	if t.untrusted {
		return nodePath
	}
	return srcPath
}

// mkdir creates dir, or accepts an existing directory (a link to one
// included: the destination's own layout is the user's; an untrusted
// source cannot make one lead out, see rootFS).
func (t *tree) mkdir(dir string) error {
	err := t.dst.Mkdir(dir)
	if err == nil {
		return nil
	}
	fi, serr := t.dst.Stat(dir)
	if serr == nil && fi.IsDir() {
		return nil
	}
	if serr == nil {
		return fmt.Errorf("exists and is not a directory")
	}
	return err
}

// checkName refuses a directory entry name that is not one path element.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return &NameError{Name: name}
	case strings.ContainsAny(name, "/\x00"):
		return &NameError{Name: name}
	case os.PathSeparator != '/' && strings.ContainsRune(name, os.PathSeparator):
		return &NameError{Name: name}
	}
	return nil
}

// NameError is a name a node listed that is not a single path element; it
// is not copied.
type NameError struct{ Name string }

func (e *NameError) Error() string {
	return fmt.Sprintf("filecopy: refused name %q: not a single path element", e.Name)
}
