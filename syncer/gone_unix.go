//go:build unix

package syncer

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ctimeSlack is how much earlier than since a change may be stamped and
// still count: the kernel stamps ctime from a coarse clock, up to a tick
// (10 ms at HZ=100) behind the time drove read.
const ctimeSlack = 50 * time.Millisecond

// goneSince reports whether path p does not exist below src without
// following a symbolic link — a component is missing, or is not a real
// directory (a file, or a symbolic link, which a tool that refuses to
// follow it reports as "Too many levels of symbolic links") — or whether
// p itself changed (its own ctime, not its directories') at or after since
// (never, when since is zero). A path outside src is checked with lstat.
func goneSince(src, p string, since time.Time) bool {
	rel, ok := strings.CutPrefix(p, strings.TrimSuffix(src, "/")+"/")
	if !ok {
		_, err := os.Lstat(p)
		return err != nil && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR))
	}
	gone := func(err error) bool {
		return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP)
	}
	changed := func(st *unix.Stat_t) bool {
		return !since.IsZero() && !time.Unix(st.Ctim.Unix()).Before(since.Add(-ctimeSlack))
	}
	fd, err := unix.Open(src, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	var st unix.Stat_t
	parts := strings.Split(rel, "/")
	for _, c := range parts[:len(parts)-1] {
		if c == "" || c == "." {
			continue
		}
		next, err := unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return gone(err)
		}
		fd = next
	}
	defer unix.Close(fd)
	if err := unix.Fstatat(fd, parts[len(parts)-1], &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return gone(err)
	}
	return changed(&st)
}
