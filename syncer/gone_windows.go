package syncer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ctimeSlack is how much earlier than since a change may be stamped and
// still count (a coarse file system clock).
const ctimeSlack = 50 * time.Millisecond

// goneSince reports whether path p does not exist below src without
// following a symbolic link — a component is missing, or is not a real
// directory — or whether p itself (not its directories) was
// modified at or after since (Windows has no ctime; never when since is
// zero). Windows has no openat: each component is checked with lstat,
// which a rename between two checks can race.
func goneSince(src, p string, since time.Time) bool {
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
		if i == len(parts)-1 && !since.IsZero() && !fi.ModTime().Before(since.Add(-ctimeSlack)) {
			return true
		}
	}
	return false
}
