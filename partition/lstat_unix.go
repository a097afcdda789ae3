//go:build unix

package partition

import (
	"io/fs"
	"syscall"
)

// lstatSize returns the lstat size of p. It calls lstat directly rather
// than DirEntry.Info, which allocates a FileInfo per file: the crawl's
// hottest path.
func lstatSize(p string) (int64, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Lstat(p, &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &fs.PathError{Op: "lstat", Path: p, Err: err}
		}
		return st.Size, nil
	}
}
