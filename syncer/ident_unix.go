//go:build unix

package syncer

import (
	"os"
	"syscall"
)

// fileIdent is the identity of the file fi describes: its device and inode
// numbers. Two paths with the same identity are the same file, however
// they are spelled (symbolic links, bind mounts, hard links to a file).
func fileIdent(fi os.FileInfo) (ident, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ident{}, false
	}
	return ident{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true //nolint:unconvert // Dev's type differs by OS
}
