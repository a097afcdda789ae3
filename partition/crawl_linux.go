//go:build linux

package partition

import (
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// dirRef is an open directory whose subdirectories are still to be opened
// relative to it; the last release closes it.
type dirRef struct {
	fd   int
	refs atomic.Int32
}

func (d *dirRef) release() {
	if d.refs.Add(-1) == 0 {
		unix.Close(d.fd)
	}
}

// dirItem is a directory to crawl: name, in the directory parent.
type dirItem struct {
	parent    *dirRef
	name, rel string
}

// dirQueue is the walkers' shared stack of directories (LIFO, so the
// directories holding descriptors open for their pending children stay
// few: about depth times walkers).
type dirQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	items   []dirItem
	busy    int
	stopped bool
	err     error
}

// pop waits for a directory; ok is false once every directory is done or
// the walk stopped.
func (q *dirQueue) pop() (it dirItem, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && q.busy > 0 && !q.stopped {
		q.cond.Wait()
	}
	if q.stopped || len(q.items) == 0 {
		q.stopped = true
		q.cond.Broadcast()
		return dirItem{}, false
	}
	it = q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	q.busy++
	return it, true
}

func (q *dirQueue) push(its []dirItem) {
	q.mu.Lock()
	q.items = append(q.items, its...)
	q.mu.Unlock()
	if len(its) == 1 {
		q.cond.Signal()
	} else {
		q.cond.Broadcast()
	}
}

// finish ends a pop'ed directory; a non-nil err stops the walk.
func (q *dirQueue) finish(err error) {
	q.mu.Lock()
	q.busy--
	if err != nil && !q.stopped {
		q.stopped, q.err = true, err
	}
	q.mu.Unlock()
	q.cond.Broadcast()
}

// stop ends the walk: every walker returns once its directory is done.
func (q *dirQueue) stop(err error) {
	q.mu.Lock()
	if !q.stopped {
		q.stopped, q.err = true, err
	}
	q.mu.Unlock()
	q.cond.Broadcast()
}

// fdWalk crawls c.root with workers goroutines. Src is opened by path
// (walkRoot resolved it); every directory below it is opened relative to
// its parent's open descriptor with O_NOFOLLOW|O_DIRECTORY, and every file
// is stat'ed relative to its directory's descriptor: no path below Src is
// ever resolved by name, so a directory swapped for a symbolic link (or a
// file) during the crawl vanishes from the listing instead of leading the
// crawl outside Src. Each directory is read once (one getdents pass): its
// files go to the packer in batches, its subdirectories to the stack.
func (c *crawler) fdWalk(workers int) error {
	fd, err := openDir(c.root)
	if err != nil {
		return &fs.PathError{Op: "open", Path: c.root, Err: err}
	}
	q := &dirQueue{}
	q.cond.L = &q.mu
	q.busy = 1 // the root, listed below
	if err := c.walkDir(fd, "", q); err != nil {
		return err
	}
	stopWatch := make(chan struct{})
	go func() {
		select {
		case <-c.ctx.Done():
			q.stop(c.ctx.Err())
		case <-c.done:
			q.stop(c.stopErr())
		case <-stopWatch:
		}
	}()
	q.finish(nil)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for {
				it, ok := q.pop()
				if !ok {
					return
				}
				q.finish(c.openAndWalk(it, q))
			}
		})
	}
	wg.Wait()
	close(stopWatch)
	for _, it := range q.items { // left by a stop
		it.parent.release()
	}
	return q.err
}

// openAndWalk opens it relative to its parent and lists it. A directory
// that vanished, or became a symbolic link or a file, is gone (nil).
func (c *crawler) openAndWalk(it dirItem, q *dirQueue) error {
	if h := c.opts.beforeOpen; h != nil {
		h(it.rel)
	}
	fd, err := openAt(it.parent.fd, it.name)
	it.parent.release()
	if err != nil {
		if err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP {
			return nil
		}
		return c.dirFailed(filepath.Join(c.root, it.rel), it.rel, "open", err, nil)
	}
	return c.walkDir(fd, it.rel, q)
}

// walkDir lists the open directory fd (rel is its path relative to Src, ""
// for Src): its files, symlinks and specials in batches (fstatat relative
// to fd), its subdirectories pushed on q with fd as their parent. It owns
// fd from then on. An unreadable directory is reported and skipped; Src
// itself failing is an error; a stop of the run is an error.
func (c *crawler) walkDir(fd int, rel string, q *dirQueue) error {
	owned := true
	defer func() {
		if owned {
			unix.Close(fd)
		}
	}()
	c.dirs.Add(1)
	bp, _ := c.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 32<<10)
		bp = &b
	}
	defer c.bufs.Put(bp)
	buf := *bp

	var batch []entry // grown by append: most directories hold a few files
	var subdirs []dirItem
	seen := 0
	for {
		n, err := readDirent(fd, buf)
		if err != nil {
			if rel == "" {
				return &fs.PathError{Op: "readdirent", Path: c.root, Err: err}
			}
			return c.dirFailed(filepath.Join(c.root, rel), rel, "readdirent", err, batch)
		}
		if n <= 0 {
			break
		}
		for off := 0; off < n; {
			reclen, typ, name := parseDirent(buf[off:n])
			if reclen == 0 {
				break
			}
			off += reclen
			if name == "" || name == "." || name == ".." {
				continue
			}
			seen++
			e, ok, isDir := c.fileEntry(fd, rel, name, typ)
			if isDir {
				sub := name
				if rel != "" {
					sub = rel + "/" + name
				}
				if bad, crawl := c.subdir(fd, name, sub); crawl {
					subdirs = append(subdirs, dirItem{name: name, rel: sub})
				} else if bad.rel != "" {
					e, ok = bad, true
				}
			}
			if ok {
				batch = append(batch, e)
				if len(batch) == batchSize {
					if err := c.sendBatch(batch); err != nil {
						return err
					}
					batch = nil
				}
			}
		}
	}
	if seen == 0 && rel != "" && c.opts.EmptyDirs && !c.known(rel) {
		batch = append(batch, entry{rel: rel})
	}
	if len(subdirs) > 0 {
		owned = false
		ref := &dirRef{fd: fd}
		ref.refs.Store(int32(len(subdirs)) + 1)
		for i := range subdirs {
			subdirs[i].parent = ref
		}
		q.push(subdirs)
		ref.release()
	}
	if len(batch) > 0 {
		return c.sendBatch(batch)
	}
	return nil
}

// subdir decides about subdirectory name (rel) of the directory dirfd:
// crawl it (ok), or leave it out — excluded, or a name the list format
// cannot hold, which is reported (e, unless the directory is empty and
// would add nothing).
func (c *crawler) subdir(dirfd int, name, rel string) (e entry, ok bool) {
	if len(c.opts.Excludes) > 0 && excluded(c.opts.Excludes, name, rel) {
		c.excluded.Add(1)
		return entry{}, false
	}
	if bad := c.unlistable(name); bad != nil {
		if !c.opts.EmptyDirs && isEmptyAt(dirfd, name) {
			return entry{}, false
		}
		return entry{rel: rel, err: bad}, false
	}
	return entry{}, true
}

// isEmptyAt reports whether directory name of dirfd could be opened (not
// through a symlink) and has no entries.
func isEmptyAt(dirfd int, name string) bool {
	fd, err := openAt(dirfd, name)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	for {
		n, err := readDirent(fd, buf)
		if err != nil {
			return false
		}
		if n <= 0 {
			return true
		}
		for off := 0; off < n; {
			reclen, _, nm := parseDirent(buf[off:n])
			if reclen == 0 {
				break
			}
			off += reclen
			if nm != "" && nm != "." && nm != ".." {
				return false
			}
		}
	}
}
