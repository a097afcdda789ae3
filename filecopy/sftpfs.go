package filecopy

import (
	"io"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/pkg/sftp"
)

// sftpFS is a node's file system over SFTP. Relative paths are relative to
// the login directory, as with scp and sftp.
type sftpFS struct{ c *sftp.Client }

func (f sftpFS) Join(elem ...string) string                 { return path.Join(elem...) }
func (f sftpFS) Stat(name string) (fs.FileInfo, error)      { return f.c.Stat(name) }
func (f sftpFS) Lstat(name string) (fs.FileInfo, error)     { return f.c.Lstat(name) }
func (f sftpFS) ReadDir(name string) ([]fs.FileInfo, error) { return f.c.ReadDir(name) }
func (f sftpFS) Readlink(name string) (string, error)       { return f.c.ReadLink(name) }
func (f sftpFS) Open(name string) (io.ReadCloser, error)    { return f.c.Open(name) }
func (f sftpFS) CreateExcl(name string) (io.WriteCloser, error) {
	return f.c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
}
func (f sftpFS) Mkdir(name string) error                    { return f.c.Mkdir(name) }
func (f sftpFS) Chmod(name string, mode fs.FileMode) error  { return f.c.Chmod(name, mode) }
func (f sftpFS) Chtimes(name string, mtime time.Time) error { return f.c.Chtimes(name, mtime, mtime) }

// Rename uses posix-rename@openssh.com, which replaces an existing target as
// rename(2) does; plain SFTP rename fails when the target exists.
func (f sftpFS) Rename(from, to string) error      { return f.c.PosixRename(from, to) }
func (f sftpFS) Symlink(target, name string) error { return f.c.Symlink(target, name) }
func (f sftpFS) Remove(name string) error          { return f.c.Remove(name) }
