//go:build unix

package syncer

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// walkKeepsNothing is keepsNothing for the final pass's keep check
// (keep.sh's walk modes): it reports whether no entry of SRC src (walked
// as keep.sh's `find . ! -name .`, no link followed) is held by DST dst,
// or by a directory above it in DST, as another type. It answers what
// keepChecker.same, entry by entry, would, at a fraction of the cost, and
// false whenever it cannot tell (a directory of SRC it cannot read, which
// fails keep.sh; either tree changing under it):
//   - the walk descends SRC and DST together, one open directory of each
//     (opened relative to its parent, never through a symbolic link, never
//     blocking on a FIFO swapped in), so an entry of DST is one fstatat in
//     its directory rather than an lstat of its whole path, and the
//     directories above it are known to be directories of DST (or absent
//     there) from the walk itself: keepChecker's check of the directories
//     above, made once per directory;
//   - SRC's type of an entry is its directory's (d_type, or an lstat where
//     the file system gives none), read a moment before DST's;
//   - directories are walked in parallel, on as many goroutines as Go runs
//     at once; the first entry kept stops every walk.
func walkKeepsNothing(src, dst string) bool {
	w := &keepWalk{sem: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
	s, err := unix.Open(src, dirOpenFlags, 0)
	if err != nil {
		return false
	}
	d, err := unix.Open(dst, dirOpenFlags, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		d = -1 // nothing of DST: nothing to keep, SRC still walked
	case err != nil:
		unix.Close(s)
		return false
	}
	w.dir(s, src, d)
	w.wg.Wait()
	return !w.stop.Load()
}

// dirOpenFlags open a directory without following a symbolic link or
// blocking on anything else.
const dirOpenFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK

// keepWalk is one walkKeepsNothing: stop is set when an entry is kept or
// the answer is unknown.
type keepWalk struct {
	stop atomic.Bool
	sem  chan struct{}
	wg   sync.WaitGroup
}

// dir checks the entries of SRC directory s (open; path names it) against
// DST directory d (open; -1: absent from DST), closing both, and walks its
// subdirectories, each on a goroutine of its own when one is free.
func (w *keepWalk) dir(s int, path string, d int) {
	if d >= 0 {
		defer unix.Close(d)
	}
	f := os.NewFile(uintptr(s), path)
	ents, err := f.ReadDir(-1)
	if err != nil {
		f.Close()
		w.stop.Store(true)
		return
	}
	defer f.Close()
	for _, e := range ents {
		if w.stop.Load() {
			return
		}
		st := modeType(e.Type())
		sub := -1
		if d >= 0 {
			var fi unix.Stat_t
			err := unix.Fstatat(d, e.Name(), &fi, unix.AT_SYMLINK_NOFOLLOW)
			switch {
			case errors.Is(err, unix.ENOENT):
			case err != nil:
				w.stop.Store(true)
				return
			case statType(uint32(fi.Mode)) != st:
				w.stop.Store(true) // kept: DST holds it as another type
				return
			case st == 'd':
				if sub, err = unix.Openat(d, e.Name(), dirOpenFlags, 0); err != nil {
					w.stop.Store(true)
					return
				}
			}
		}
		if st != 'd' {
			continue
		}
		c, err := unix.Openat(s, e.Name(), dirOpenFlags, 0)
		if err != nil {
			if sub >= 0 {
				unix.Close(sub)
			}
			w.stop.Store(true) // keep.sh's find fails on it
			return
		}
		p := path + "/" + e.Name()
		select {
		case w.sem <- struct{}{}:
			w.wg.Go(func() {
				w.dir(c, p, sub)
				<-w.sem
			})
		default:
			w.dir(c, p, sub)
		}
	}
}

// statType is lType's letter for a stat mode.
func statType(m uint32) byte {
	switch m & unix.S_IFMT {
	case unix.S_IFLNK:
		return 'l'
	case unix.S_IFDIR:
		return 'd'
	case unix.S_IFREG:
		return 'f'
	}
	return 'o'
}
