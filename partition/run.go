package partition

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Run crawls opts.Src and writes its entries into partition lists under
// opts.OutDir. Each partition is passed to emit as soon as it is closed: in
// live mode while the crawl goes on, with Parts or Sort after it, in order.
// emit, progress (which may be nil) and opts.OnSkip are called from the
// goroutine that called Run, never concurrently.
//
// Entries that could not be listed are reported through opts.OnSkip and
// counted in Summary.Skipped; Run still returns a nil error for them
// (check Summary.Complete). Run returns an error for bad options, an
// unreadable Src, a list file that cannot be written, an error from emit,
// or ctx's error when ctx is cancelled. On cancellation in live mode the
// open partition is closed and emitted first, so every emitted list is
// whole and nothing written is lost.
func Run(ctx context.Context, opts Options, emit func(Partition) error, progress func(Progress)) (Summary, error) {
	start := time.Now()
	var sum Summary
	if err := opts.Validate(); err != nil {
		return sum, err
	}
	root, err := walkRoot(opts.Src)
	if err != nil {
		return sum, err
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return sum, fmt.Errorf("partition: %w", err)
	}
	if sync := opts.syncer(); sync != nil {
		if err := syncDir(filepath.Dir(filepath.Clean(opts.OutDir)), sync); err != nil {
			return sum, fmt.Errorf("partition: %w", err)
		}
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	walk := opts.Walk
	if walk == nil {
		walk = FastWalk(opts.Walkers)
	}
	every := opts.ProgressEvery
	if every <= 0 {
		every = 200 * time.Millisecond
	}

	// stop ends the crawl: closing done makes every walker callback return.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stopOnce sync.Once
	var stopErr error
	done := make(chan struct{})
	stop := func(err error) {
		stopOnce.Do(func() { stopErr = err; close(done) })
	}
	go func() {
		<-ctx.Done()
		stop(ctx.Err())
	}()
	stopped := func() error { <-done; return stopErr }

	entries := make(chan []entry, 16) // at most 16 batches of 256 in flight
	c := newCrawler(ctx, root, &opts, entries, done, stopped)
	walkErr := make(chan error, 1)
	go func() {
		var err error
		if c.batched {
			err = c.fdWalk(walkers(opts.Walkers))
		} else {
			err = walk(root, c.visit)
		}
		close(entries)
		walkErr <- err
	}()

	emitted := func(p Partition) error {
		sum.Parts++
		if err := emit(p); err != nil {
			return err
		}
		sum.Dirs = c.dirs.Load()
		progress(sum.Progress)
		return nil
	}
	live := opts.Parts == 0 && !opts.Sort
	pk := &packer{opts: &opts, emit: emitted}
	var all collection

	// The packer loop: the only goroutine that touches sum, pk and all.
	var failed error
	tick := time.NewTicker(every)
	defer tick.Stop()
	for open := true; open; {
		select {
		case batch, ok := <-entries:
			if !ok {
				open = false
				break
			}
			for _, e := range batch {
				if failed != nil {
					break // draining after a failure
				}
				if e.err != nil {
					sum.Skipped++
					if opts.OnSkip != nil {
						opts.OnSkip(Skip{Path: e.rel, Err: e.err})
					}
					continue
				}
				sum.Files++
				sum.Bytes += e.size
				if live {
					failed = pk.add(e)
				} else {
					all.add(e)
				}
				if failed != nil {
					stop(failed)
				}
			}
		case <-tick.C:
			sum.Dirs = c.dirs.Load()
			progress(sum.Progress)
		}
	}
	err = <-walkErr
	sum.Dirs, sum.Excluded, sum.Special = c.dirs.Load(), c.excluded.Load(), c.special.Load()
	if failed != nil {
		pk.abort()
		sum.Elapsed = time.Since(start)
		return sum, failed
	}
	if err != nil && ctx.Err() == nil {
		pk.abort()
		sum.Elapsed = time.Since(start)
		return sum, fmt.Errorf("partition: crawl %s: %w", opts.Src, err)
	}
	if cerr := ctx.Err(); cerr != nil {
		// Interrupted: in live mode, hand over what is already written.
		if live {
			if ferr := pk.flush(); ferr != nil {
				pk.abort()
			}
		}
		sum.Elapsed = time.Since(start)
		return sum, cerr
	}
	if live {
		err = pk.flush()
	} else {
		err = all.pack(&opts, emitted)
	}
	sum.Elapsed = time.Since(start)
	progress(sum.Progress)
	return sum, err
}

// walkRoot checks that src is a directory and returns the path to walk: src
// cleaned, or its target when src is a symbolic link to a directory (as
// "rsync src/" would follow it).
func walkRoot(src string) (string, error) {
	root := filepath.Clean(src)
	fi, err := os.Lstat(root)
	if err != nil {
		return "", fmt.Errorf("partition: source: %w", err)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		if root, err = filepath.EvalSymlinks(root); err != nil {
			return "", fmt.Errorf("partition: source: %w", err)
		}
		if fi, err = os.Stat(root); err != nil {
			return "", fmt.Errorf("partition: source: %w", err)
		}
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("partition: source %s is not a directory", src)
	}
	return root, nil
}
