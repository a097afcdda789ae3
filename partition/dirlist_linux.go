//go:build linux

package partition

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// batchedCrawl is true on Linux: the crawl is fdWalk, which opens every
// directory relative to its parent's descriptor and lists each directory's
// files in batches.
const batchedCrawl = true

const batchSize = 256

// dirFlags open a directory below Src: never through a symbolic link (a
// directory swapped for one between its listing and its opening is gone,
// not followed), never anything but a directory.
const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK

// fileEntry turns one directory entry into a list entry (or a skip);
// ok is false for directories (isDir), exclusions, specials and vanished
// files.
func (c *crawler) fileEntry(dirfd int, dirRel, name string, typ byte) (e entry, ok, isDir bool) {
	var st unix.Stat_t
	statted := false
	if typ == unix.DT_UNKNOWN { // file systems without d_type
		if err := fstatat(dirfd, name, &st); err != nil {
			return entry{}, false, false
		}
		statted = true
		typ = modeToDT(st.Mode)
	}
	if typ == unix.DT_DIR {
		return entry{}, false, true
	}
	rel := name
	if dirRel != "" {
		rel = dirRel + "/" + name
	}
	if len(c.opts.Excludes) > 0 && excluded(c.opts.Excludes, name, rel) {
		c.excluded.Add(1)
		return entry{}, false, false
	}
	if c.known(rel) {
		return entry{}, false, false
	}
	if typ != unix.DT_REG && typ != unix.DT_LNK {
		c.special.Add(1)
		return entry{}, false, false
	}
	if bad := c.unlistable(name); bad != nil {
		return entry{rel: rel, err: bad}, true, false
	}
	if c.opts.NoSizes {
		return entry{rel: rel}, true, false
	}
	if !statted {
		if err := fstatat(dirfd, name, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return entry{}, false, false // vanished: nothing left to copy
			}
			return entry{rel: rel, err: &fs.PathError{Op: "lstat", Path: filepath.Join(c.root, rel), Err: err}}, true, false
		}
	}
	return entry{rel: rel, size: st.Size}, true, false
}

// dirFailed reports an unreadable directory (after sending what was already
// listed): nil, so the walk goes on without it; for Src itself it is an
// error.
func (c *crawler) dirFailed(dir, rel, op string, err error, batch []entry) error {
	perr := &fs.PathError{Op: op, Path: dir, Err: err}
	if rel == "" {
		return perr
	}
	if !errors.Is(err, unix.ENOENT) {
		batch = append(batch, entry{rel: rel, err: perr})
	}
	if len(batch) > 0 {
		return c.sendBatch(batch)
	}
	return nil
}

func openAt(dirfd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, dirFlags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func openDir(dir string) (int, error) {
	for {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func readDirent(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func fstatat(dirfd int, name string, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}

// parseDirent decodes the linux_dirent64 record at the start of buf:
// d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), d_name (NUL-ended).
// reclen is 0 when buf holds no whole record.
func parseDirent(buf []byte) (reclen int, typ byte, name string) {
	const nameOff = 19
	if len(buf) < nameOff {
		return 0, 0, ""
	}
	reclen = int(binary.NativeEndian.Uint16(buf[16:18]))
	if reclen < nameOff || reclen > len(buf) {
		return 0, 0, ""
	}
	typ = buf[18]
	nb := buf[nameOff:reclen]
	if i := bytes.IndexByte(nb, 0); i >= 0 {
		nb = nb[:i]
	}
	return reclen, typ, string(nb)
}

// modeToDT maps a stat mode to a dirent type.
func modeToDT(mode uint32) byte {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return unix.DT_DIR
	case unix.S_IFREG:
		return unix.DT_REG
	case unix.S_IFLNK:
		return unix.DT_LNK
	}
	return unix.DT_FIFO // any special
}
