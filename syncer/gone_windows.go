package syncer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// isGone reports whether path p does not exist below src without
// following a symbolic link: a component is missing, or is not a real
// directory. (Windows has no openat: each component is checked with
// lstat, which a rename between two checks can race.)
func isGone(src, p string) bool {
	rel, ok := strings.CutPrefix(p, strings.TrimSuffix(src, "/")+"/")
	if !ok {
		_, err := os.Lstat(p)
		return err != nil && errors.Is(err, fs.ErrNotExist)
	}
	cur := src
	parts := strings.Split(rel, "/")
	for i, c := range parts {
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		if err != nil {
			return errors.Is(err, fs.ErrNotExist)
		}
		if i < len(parts)-1 && !fi.IsDir() {
			return true
		}
	}
	return false
}
