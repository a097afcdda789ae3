package filecopy

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// FS is one side of a copy: this machine's file system (whole, or confined
// to a root) or a node's over SFTP. Paths use the side's own separator
// through Join.
type FS interface {
	Join(elem ...string) string
	Stat(name string) (fs.FileInfo, error)
	Lstat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.FileInfo, error)
	Readlink(name string) (string, error)
	Open(name string) (io.ReadCloser, error)
	// CreateExcl creates name for writing and fails if it exists.
	CreateExcl(name string) (io.WriteCloser, error)
	Mkdir(name string) error
	Chmod(name string, mode fs.FileMode) error
	Chtimes(name string, mtime time.Time) error
	// Rename renames from to to, replacing a file or link at to.
	Rename(from, to string) error
	Symlink(target, name string) error
	Remove(name string) error
}

// osFS is this machine's whole file system.
type osFS struct{}

func (osFS) Join(elem ...string) string             { return filepath.Join(elem...) }
func (osFS) Stat(name string) (fs.FileInfo, error)  { return os.Stat(name) }
func (osFS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(name) }
func (osFS) ReadDir(name string) ([]fs.FileInfo, error) {
	return readDir(func() ([]os.DirEntry, error) { return os.ReadDir(name) })
}
func (osFS) Readlink(name string) (string, error)    { return os.Readlink(name) }
func (osFS) Open(name string) (io.ReadCloser, error) { return os.Open(name) }
func (osFS) CreateExcl(name string) (io.WriteCloser, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}
func (osFS) Mkdir(name string) error                    { return os.Mkdir(name, 0o700) }
func (osFS) Chmod(name string, mode fs.FileMode) error  { return os.Chmod(name, mode) }
func (osFS) Chtimes(name string, mtime time.Time) error { return os.Chtimes(name, mtime, mtime) }
func (osFS) Rename(from, to string) error               { return os.Rename(from, to) }
func (osFS) Symlink(target, name string) error          { return os.Symlink(target, name) }
func (osFS) Remove(name string) error                   { return os.Remove(name) }

// rootFS is a directory of this machine that nothing written through it can
// leave: os.Root refuses ".." and symbolic links that lead out of it.
type rootFS struct{ r *os.Root }

func (f rootFS) Join(elem ...string) string             { return filepath.Join(elem...) }
func (f rootFS) Stat(name string) (fs.FileInfo, error)  { return f.r.Stat(name) }
func (f rootFS) Lstat(name string) (fs.FileInfo, error) { return f.r.Lstat(name) }
func (f rootFS) ReadDir(name string) ([]fs.FileInfo, error) {
	return readDir(func() ([]os.DirEntry, error) {
		d, err := f.r.Open(name)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return d.ReadDir(-1)
	})
}
func (f rootFS) Readlink(name string) (string, error)    { return f.r.Readlink(name) }
func (f rootFS) Open(name string) (io.ReadCloser, error) { return f.r.Open(name) }
func (f rootFS) CreateExcl(name string) (io.WriteCloser, error) {
	return f.r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}
func (f rootFS) Mkdir(name string) error                    { return f.r.Mkdir(name, 0o700) }
func (f rootFS) Chmod(name string, mode fs.FileMode) error  { return f.r.Chmod(name, mode) }
func (f rootFS) Chtimes(name string, mtime time.Time) error { return f.r.Chtimes(name, mtime, mtime) }
func (f rootFS) Rename(from, to string) error               { return f.r.Rename(from, to) }
func (f rootFS) Symlink(target, name string) error          { return f.r.Symlink(target, name) }
func (f rootFS) Remove(name string) error                   { return f.r.Remove(name) }

// readDir turns directory entries into FileInfos (lstat of each), dropping
// entries that vanished in between.
func readDir(list func() ([]os.DirEntry, error)) ([]fs.FileInfo, error) {
	ents, err := list()
	out := make([]fs.FileInfo, 0, len(ents))
	for _, e := range ents {
		fi, ierr := e.Info()
		if errors.Is(ierr, fs.ErrNotExist) {
			continue
		}
		if ierr != nil {
			return out, ierr
		}
		out = append(out, fi)
	}
	return out, err
}
