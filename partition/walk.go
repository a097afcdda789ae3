package partition

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/charlievieth/fastwalk"
)

// FastWalk returns a WalkFunc that crawls with charlievieth/fastwalk using
// workers goroutines (0: fastwalk's default, GOMAXPROCS clamped to 4..32).
// Symbolic links found as entries are never followed, but directories are
// opened by path: a directory swapped for a symbolic link while the crawl
// runs can lead it outside the root. Run's own crawl on Linux (Options.Walk
// nil) opens every directory relative to its parent and cannot be led out.
func FastWalk(workers int) WalkFunc {
	conf := fastwalk.Config{NumWorkers: workers}
	return func(root string, fn fs.WalkDirFunc) error {
		return fastwalk.Walk(&conf, root, fn)
	}
}

// entry is one crawled path on its way to the packer: a listable entry,
// or (err != nil) a skipped one.
type entry struct {
	rel  string
	size int64
	err  error
}

// crawler turns walk callbacks, which may run on many goroutines, into
// batches of entries on one channel. Counters are atomic; bufs is a pool;
// everything else is read-only.
//
// On Linux without Options.Walk the crawl is fdWalk: each directory is
// opened relative to its parent's descriptor and lists its own files (one
// getdents pass, fstatat relative to the directory, one channel send per
// batch). Other walkers (Options.Walk, FastWalk off Linux) call visit once
// per entry.
type crawler struct {
	root     string // cleaned walk root
	prefix   string // root with a trailing separator, cut from each path
	opts     *Options
	batched  bool
	bufs     sync.Pool // *[]byte getdents buffers
	out      chan<- []entry
	ctx      context.Context // the run's context, checked directly so a cancel is seen at once
	done     <-chan struct{} // closed when the run stops for any reason
	stopErr  func() error    // why done was closed
	dirs     atomic.Int64
	excluded atomic.Int64
	special  atomic.Int64
}

func newCrawler(ctx context.Context, root string, opts *Options, out chan<- []entry, done <-chan struct{}, stopErr func() error) *crawler {
	prefix := root
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	return &crawler{root: root, prefix: prefix, opts: opts, batched: opts.Walk == nil && batchedCrawl,
		out: out, ctx: ctx, done: done, stopErr: stopErr}
}

// known reports whether Options.Known leaves rel out.
func (c *crawler) known(rel string) bool { return c.opts.Known != nil && c.opts.Known(rel) }

// send hands e to the packer, or gives up when the run is stopping.
func (c *crawler) send(e entry) error { return c.sendBatch([]entry{e}) }

// sendBatch hands a batch to the packer, which owns it from then on.
func (c *crawler) sendBatch(b []entry) error {
	select {
	case c.out <- b:
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-c.done:
		return c.stopErr()
	}
}

// visit is the fs.WalkDirFunc. It must be safe for concurrent use.
func (c *crawler) visit(p string, d fs.DirEntry, err error) error {
	select {
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-c.done:
		return c.stopErr()
	default:
	}
	if p == c.root {
		if err != nil {
			return err // the root itself is unreadable: nothing to list
		}
		if d != nil && d.IsDir() {
			c.dirs.Add(1)
		}
		return nil
	}
	rel := strings.TrimPrefix(p, c.prefix)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // vanished during the crawl: nothing left to copy
		}
		// A directory that could not be read (second callback), or an
		// entry that could not be stat'ed: its contents are not listed.
		return c.send(entry{rel: rel, err: err})
	}
	name := d.Name()
	isDir := d.IsDir()
	if len(c.opts.Excludes) > 0 && excluded(c.opts.Excludes, name, rel) {
		c.excluded.Add(1)
		if isDir {
			return filepath.SkipDir
		}
		return nil
	}
	if bad := c.unlistable(name); bad != nil {
		if isDir && !c.opts.EmptyDirs && isEmptyDir(p) {
			return nil // nothing in it would be listed anyway
		}
		if e := c.send(entry{rel: rel, err: bad}); e != nil {
			return e
		}
		if isDir {
			return filepath.SkipDir
		}
		return nil
	}
	typ := d.Type()
	switch {
	case isDir:
		c.dirs.Add(1)
		if c.opts.EmptyDirs && isEmptyDir(p) && !c.known(rel) {
			return c.send(entry{rel: rel})
		}
		return nil
	case typ.IsRegular() || typ&fs.ModeSymlink != 0:
		if c.known(rel) {
			return nil
		}
		if c.opts.NoSizes {
			return c.send(entry{rel: rel})
		}
		size, err := lstatSize(p) // on this walker's goroutine
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return c.send(entry{rel: rel, err: err})
		}
		return c.send(entry{rel: rel, size: size})
	default:
		c.special.Add(1)
		return nil
	}
}

// unlistable returns why a name cannot be written in the list format, or
// nil.
func (c *crawler) unlistable(name string) error {
	switch {
	case c.opts.Format == ListLines && strings.ContainsAny(name, "\n\r"):
		return errNewlineName
	case c.opts.Format == ListRclone && strings.ContainsRune(name, rcloneQuote):
		return errRcloneQuote
	}
	return nil
}

// isEmptyDir reports whether directory p could be read and has no entries.
// An unreadable directory is not empty: the walker reports it.
func isEmptyDir(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return errors.Is(err, io.EOF)
}

// walkers is the number of crawl goroutines for Options.Walkers n.
func walkers(n int) int {
	if n > 0 {
		return n
	}
	return fastwalk.DefaultNumWorkers()
}
