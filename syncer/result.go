package syncer

import (
	"fmt"
	"time"

	"github.com/drove-dev/drove/partition"
	"github.com/drove-dev/drove/runner"
)

// Part is one partition of the sync.
type Part struct {
	Crawl, Seq int
	List, Log  string // absolute paths
	Files      int
	Bytes      int64
	Done       bool      // copied, in this run or an earlier one
	Node       string    // where it was copied, or last tried
	listed     time.Time // when its crawl started; zero if unknown
}

// Name is the partition's name, its list path relative to WORK/lists.
func (p *Part) Name() string { return fmt.Sprintf("%d/%s", p.Crawl, partition.ListName(p.Seq)) }

// EventKind says what an Event reports.
type EventKind int

// The events of a sync.
const (
	Checking EventKind = iota // a runner event of the visibility check (Run)
	Crawling                  // crawl progress
	Listed                    // a partition was written and queued (Part)
	Crawled                   // the crawl ended (Err says why it is incomplete)
	Copying                   // a runner event of the copy (Run; Part for job events)
	Final                     // a runner event of the final pass (Run)
)

// Event is one thing that happened in a sync, with the progress after it.
type Event struct {
	Kind     EventKind
	Part     *Part // a copy
	Run      runner.Event
	Err      error
	Progress Progress
}

// Progress counts a sync. Listed and copied counts include the partitions
// of earlier runs with the same work directory.
type Progress struct {
	Files, Bytes             int64 // entries listed so far
	CopiedFiles, CopiedBytes int64 // entries in done partitions
	RunBytes                 int64 // bytes of partitions this run copied
	Parts, PartsDone         int
	PartsFailed              int // failed for good in this run
	CrawlDone                bool
	Busy                     int // nodes copying a partition now
	Nodes                    int // nodes in the pool
	Running                  int // partitions being copied
	Start                    time.Time
}

// Failure is a partition that failed for good in this run.
type Failure struct {
	Part   Part
	Node   string // the node of its last attempt
	Err    error  // of its last attempt (*runner.ExitError etc.), nil if it never ran
	Reason string
	// ToolError is the copy tool's own line in the log of the last
	// attempt that says why it failed (copytool.Stats.ErrorLine), if any.
	ToolError string
}

// Kept is an entry of DST that SRC holds as another type: without Delete
// it is left as it is (no copy replaces it, nor anything below it).
type Kept struct {
	Path     string // relative to SRC and DST
	Dst, Src string // the types: file, directory, symlink, special file
}

// Result is the account of a run.
type Result struct {
	Progress
	Work          string // the work directory (DefaultWork when none was given)
	Resumed       bool   // this run resumed an unfinished one of the work directory
	Run           int    // the run's number in the work directory, from 1
	NewRun        bool   // the work directory's last run had finished: this is run Run, from scratch
	CrawlComplete bool   // some crawl (this run's or an earlier one) listed the whole tree
	CrawlErr      error
	Skipped       int       // entries this run's crawl could not list
	Failed        []Failure // partitions that failed for good
	Unrun         []Part    // partitions that never ran (no node left, interrupted)
	// Moved is what this run's partition copies transferred and found
	// already in DST; FinalMoved what the final pass did.
	Moved, FinalMoved Tally
	// Skips are the kinds of entries no copy of this run took, and why.
	Skips       []Skip
	Vanished    int // partitions whose source files vanished after listing (rsync exit 24, or 23 for paths drove found gone; counted as copied)
	Interrupted bool
	FinalRan    bool  // the final pass ran and succeeded
	FinalErr    error // the final pass failed (or could not run)
	Refused     []runner.NodeFailure
	Evicted     []runner.NodeFailure
	JournalErr  error // a copied partition could not be recorded
	Elapsed     time.Duration
	// Kept are the entries of DST kept because SRC holds them as another
	// type (without Delete), each once, in the order they were found. They
	// do not make OK false: the rest of the tree was copied.
	Kept []Kept
	// DeleteLimited says the final pass stopped deleting at MaxDelete
	// (LimitDelete): what is left in DST but not in SRC stays.
	DeleteLimited bool
	// Unconfined are the nodes where an rclone copy ran without its
	// confinement to SRC (no mount namespace there; see confine.go).
	Unconfined []string
	// UnconfinedMount are those of them that had a mount namespace, but
	// where SRC could not be bind-mounted or remounted nosymfollow in it
	// (the copy's log says which step failed).
	UnconfinedMount []string
}

// OK reports whether the tree was copied whole: every partition done, the
// crawl complete, and the final pass (if asked for) run.
func (r *Result) OK() bool {
	return len(r.Failed) == 0 && len(r.Unrun) == 0 && r.CrawlComplete && r.CrawlErr == nil &&
		!r.Interrupted && r.FinalErr == nil && r.JournalErr == nil && r.PartsDone == r.Parts
}
