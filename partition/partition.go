// Package partition crawls a file tree and splits its entries into
// partitions, fpart-style: each partition is a list file of paths relative
// to the source, and each closed partition is handed to a callback at once,
// so a runner can start copying while the crawl goes on.
//
// Live mode (the default) streams entries straight into the open list file:
// memory stays bounded by the walker's queue and a few batches in flight,
// whatever the tree size. Exact
// partition counts (Options.Parts) and sorted output (Options.Sort) need the
// whole crawl first and hold every entry in memory.
//
// The package prints nothing: callers get partitions, progress and skipped
// entries through callbacks, all called from the goroutine that called Run.
package partition

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// WalkFunc walks the tree rooted at root, calling fn for root and for every
// entry below it, with the contract of filepath.WalkDir (fs.WalkDirFunc). It
// may call fn from several goroutines at once. filepath.WalkDir is a
// WalkFunc; FastWalk returns the parallel one Run uses by default.
type WalkFunc func(root string, fn fs.WalkDirFunc) error

// Options says what to crawl and how to cut it into partitions.
type Options struct {
	// Src is the directory to crawl. Listed paths are relative to it.
	Src string
	// OutDir receives the list files OutDir/part.000001, ... It is created
	// if missing; existing list files are never overwritten (Run fails).
	OutDir string

	// MaxFiles closes a partition when it holds this many entries (0: no
	// limit).
	MaxFiles int
	// MaxBytes closes a partition before it would exceed this many bytes
	// (0: no limit). A single entry larger than MaxBytes gets a partition
	// of its own.
	MaxBytes int64
	// Parts, when > 0, makes exactly Parts partitions balanced by total
	// size (largest first into the smallest partition). It needs the whole
	// crawl first and cannot be combined with MaxFiles or MaxBytes.
	Parts int
	// Sort collects the whole crawl and packs it in path order, so the
	// output is deterministic. Parts implies it.
	Sort bool

	// EmptyDirs adds directories that have no entries at all, so the copy
	// tool recreates them. A directory whose children are all excluded is
	// not empty.
	EmptyDirs bool
	// Excludes are path.Match globs. A pattern without "/" is matched
	// against each entry's name; a pattern with "/" against the path
	// relative to Src (a leading "/" anchors nothing extra). A matching
	// directory is skipped whole.
	Excludes []string
	// Format is how entries are written (ListNUL by default; Job.ListFormat
	// gives the one a job mode needs). Names the format or its tool cannot
	// handle (ListLines: "\n" or "\r"; ListRclone: U+201B) are reported
	// through OnSkip with ErrUnrepresentable and counted as skipped (a
	// directory so named is skipped whole).
	Format ListFormat

	// NoSizes skips the lstat of every file: entries are typed from the
	// directory read alone and counted as 0 bytes. It makes crawls much
	// cheaper on slow metadata servers (fpart always stats) and cannot be
	// combined with MaxBytes or Parts, which need sizes.
	NoSizes bool

	// Walkers is the number of parallel crawlers (0: GOMAXPROCS clamped
	// to 4..32, fastwalk's default).
	Walkers int
	// Walk replaces the crawler. nil means Run's own: on Linux, Walkers
	// goroutines that open every directory relative to its parent's
	// descriptor without following symbolic links (a directory swapped
	// for a symlink during the crawl is left out, never followed out of
	// Src) and list each directory's files in one batch (getdents, fstatat
	// relative to the directory); elsewhere FastWalk. A WalkFunc set here
	// gets one callback per entry and is trusted to stay inside Src: it is
	// a seam for tests and for callers that prefer filepath.WalkDir.
	Walk WalkFunc
	// Known, when set, is asked about every file, symlink and empty
	// directory (its path relative to Src): those it reports are left out
	// of the lists, as listed already (by an earlier crawl). Directories
	// are still crawled. It is called from several goroutines at once.
	Known func(rel string) bool
	// Sync fsyncs each list file, then its directory, before the
	// partition is emitted (and OutDir's parent once, when Run creates
	// OutDir): a caller that records emitted partitions (a journal) never
	// records a list that a crash can still lose or empty.
	Sync bool
	// fsync replaces (*os.File).Sync in tests.
	fsync func(*os.File) error
	// beforeOpen, when set (by tests), is called before each directory
	// below Src is opened: a seam to change the tree between a
	// directory's listing and its opening.
	beforeOpen func(rel string)
	// ProgressEvery is the interval between progress callbacks during the
	// crawl (0: 200ms). Progress is also reported after every partition.
	ProgressEvery time.Duration
	// OnSkip, when set, is told about every entry left out of the listing
	// because of an error (unreadable directory, unrepresentable name).
	OnSkip func(Skip)
}

// Partition is one closed list file.
type Partition struct {
	// Seq numbers partitions from 1 in the order they are emitted.
	Seq int
	// ListPath is the list file, OutDir joined with "part.%06d".
	ListPath string
	// Files counts the entries in the list: regular files, symlinks and
	// (with EmptyDirs) empty directories.
	Files int
	// Bytes is the sum of the entries' sizes (lstat sizes: apparent size
	// of regular files, target length of symlinks, 0 for directories).
	Bytes int64
}

// Progress is a snapshot of a running crawl.
type Progress struct {
	Files   int64 // entries listed (or collected, before packing)
	Bytes   int64 // their total size
	Dirs    int64 // directories crawled
	Parts   int   // partitions emitted
	Skipped int   // entries reported through OnSkip
}

// Summary is the account of a finished (or stopped) Run.
type Summary struct {
	Progress
	// Excluded counts entries matched by Options.Excludes (a skipped
	// directory counts once).
	Excluded int64
	// Special counts devices, FIFOs and sockets, which are never listed.
	Special int64
	// Elapsed is the wall time of Run.
	Elapsed time.Duration
}

// Complete reports whether every entry of the tree was listed or
// deliberately excluded: nothing was skipped because of an error.
func (s Summary) Complete() bool { return s.Skipped == 0 }

// Skip is an entry left out of the listing. Path is relative to Src.
type Skip struct {
	Path string
	Err  error
}

func (s Skip) String() string { return fmt.Sprintf("%s: %v", s.Path, s.Err) }

// ErrUnrepresentable is the Skip error (wrapped with the reason) for a
// name that the list format, or the tool reading it, cannot handle.
var ErrUnrepresentable = errors.New("name cannot be listed")

var (
	errNewlineName = fmt.Errorf("%w: it contains a newline or carriage return and the list is newline-separated", ErrUnrepresentable)
	errRcloneQuote = fmt.Errorf("%w: rclone cannot open local names containing U+201B, its own quote character", ErrUnrepresentable)
)

// ListName returns the file name of partition seq inside OutDir.
func ListName(seq int) string { return fmt.Sprintf("part.%06d", seq) }

// Validate reports the first problem with o's limits and patterns, as an
// error naming the option.
func (o *Options) Validate() error {
	switch {
	case o.Src == "":
		return errors.New("partition: no source directory")
	case o.OutDir == "":
		return errors.New("partition: no output directory for the lists")
	case o.Format < ListNUL || o.Format > ListRclone:
		return fmt.Errorf("partition: unknown list format %d", int(o.Format))
	case o.MaxFiles < 0 || o.MaxBytes < 0 || o.Parts < 0 || o.Walkers < 0:
		return errors.New("partition: limits must not be negative")
	case o.Parts > 0 && (o.MaxFiles > 0 || o.MaxBytes > 0):
		return errors.New("partition: an exact number of partitions cannot be combined with a file or size limit")
	case o.NoSizes && (o.MaxBytes > 0 || o.Parts > 0):
		return errors.New("partition: a size limit or a number of partitions needs file sizes")
	case o.Parts == 0 && o.MaxFiles == 0 && o.MaxBytes == 0:
		return errors.New("partition: give a file limit, a size limit or a number of partitions")
	}
	for _, p := range o.Excludes {
		if p == "" {
			return errors.New("partition: empty exclude pattern")
		}
		if _, err := path.Match(p, "x"); err != nil {
			return fmt.Errorf("partition: exclude pattern %q: %w", p, err)
		}
	}
	return nil
}

// excluded reports whether the entry with base name name and path rel
// (relative to Src) matches one of the patterns.
func excluded(patterns []string, name, rel string) bool {
	for _, p := range patterns {
		subject := name
		if strings.Contains(p, "/") {
			subject = rel
			p = strings.Trim(p, "/")
		}
		if ok, _ := path.Match(p, subject); ok {
			return true
		}
	}
	return false
}
