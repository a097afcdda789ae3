// Package syncer copies a tree to another place across a fleet of nodes in
// one process: it crawls SRC live (package partition), hands each partition
// to a free node slot as soon as it is closed (package runner), copies it
// there with rsync or rclone, and ends with a final pass over the whole tree
// that makes DST match SRC. Everything is journalled in a work directory, so
// a run that was interrupted, crashed or had failed partitions is finished
// by running it again with the same work directory, without copying again
// what was copied.
//
// Work directory layout:
//
//	WORK/journal              append-only JSON lines, fsync'd one by one
//	WORK/lists/C/part.NNNNNN  partition lists of crawl C (1 for the first run)
//	WORK/log/C/part.NNNNNN.log the copy tool's output for that partition, one
//	                           "== date host" header per attempt
//	WORK/log/final.log        the final pass's output
//	DST/TempDirName(WORK)     rsync's temporary files (--temp-dir), until the
//	                          final pass (or the cleanup) removes it
//
// drove writes the journal and the lists; the nodes write the logs (and
// create their directories), as the user they run jobs as, which need not
// be drove's.
//
// Runs. A work directory holds the runs of one sync (SRC, DST, tool),
// numbered from 1 as fpsync numbers its runs. A drove sync whose journal's
// last run had finished (complete crawl, every partition done, the final
// pass run if asked) starts the next run: a new crawl of the whole tree
// (lists in the next crawl's directory) and a new final pass. A run that
// had not finished is resumed.
//
// Resume. A run reads the journal first. Partitions created but not done
// are run again from their existing lists. If the last crawl had listed the
// whole tree, nothing is crawled again. If it had not (interrupt, crash,
// unreadable entries), a new crawl lists the tree again, leaving out every
// path already in a list of an earlier crawl: a path is never listed twice,
// and a path the earlier crawl had not reached (or that appeared since) is
// listed now, so nothing is skipped. That needs the earlier lists' paths in
// memory (about 100 bytes a path) during the new crawl only. The final pass
// runs when every partition is done and a crawl is complete.
//
// Final pass. One rsync -a of SRC/ to DST/ (rclone copy, or rclone sync with
// Delete) on one node, a local one if there is one: it fixes directory
// metadata that partition copies disturbed and catches files changed during
// the run. rsync keeps its temporary files in one directory at the top of
// DST (TempDirName, never copied): the final pass removes it with whatever
// rsyncs killed mid-file (a node that died) left there, and without Delete
// removes nothing else.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/randhex"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/partition"
	"github.com/drove-dev/drove/runner"
)

// Options is one sync.
type Options struct {
	// Src is the tree to copy, an absolute path that drove and every node
	// see. Dst is where it goes: an absolute path (its parent must exist
	// on every node), or for rclone any rclone remote ("remote:bucket").
	Src, Dst string
	// Work is the work directory, absolute, on storage every node sees.
	// Empty means DefaultWork, private to this user (0700, checked): only
	// when every node is Local (else *WorkRequiredError).
	Work string
	// Tool is copytool.Rsync or copytool.Rclone.
	Tool     copytool.Tool
	ToolArgs []string

	// Partitioning, as in partition.Options.
	MaxFiles  int
	MaxBytes  int64
	Excludes  []string
	EmptyDirs bool
	Walkers   int

	// FinalPass runs one copy of the whole tree after every partition is
	// done; Delete makes it delete what is in DST but not in SRC.
	FinalPass bool
	Delete    bool
	// LimitDelete, with Delete, deletes at most MaxDelete entries of DST
	// in the whole run (rsync's --max-delete): partitions then replace
	// nothing (an entry whose DST counterpart is of another type is left
	// to the final pass), and the final pass, the one copy that deletes,
	// gets the limit; past it, it stops deleting and the Result says so
	// (DeleteLimited).
	LimitDelete bool
	MaxDelete   int
	// DeleteEmptySrc lets Delete run when SRC is empty or is not on the
	// device the journal's last run saw it on (an unmounted or replaced
	// file system), which is otherwise refused (*DeleteRefusedError).
	DeleteEmptySrc bool

	Nodes       []Node
	OnFailure   runner.OnFailure
	MaxAttempts int
	MaxSlots    int
	Timeout     time.Duration // per partition attempt; the final pass has none
	// Drain, when closed, stops the crawl and starts no new copy; running
	// ones finish (cancelling Run's context kills them).
	Drain <-chan struct{}

	// Stderr receives what a job's wrapper itself writes on stderr (the
	// copy tool's output goes to the logs), prefixed with the node; nil
	// discards it.
	Stderr io.Writer
	// Events, when set, receives every event, one at a time (never
	// concurrently, from the crawl's or the runner's goroutine). It must
	// be quick.
	Events func(Event)
	// OnSkip is told about every entry the crawl could not list.
	OnSkip func(partition.Skip)

	// nonce marks the copy jobs' outcome lines (outcome.go); Run sets it.
	nonce string
	// RcloneConfig, when set, replaces `rclone config dump` on this
	// machine as the description of rclone's remotes (remote name to its
	// settings), used to tell a remote DST that is a local directory.
	RcloneConfig func() map[string]map[string]string
}

// migration is one run's state. mu guards progress, parts and events: they
// are touched from the crawl goroutine and the runner's event goroutine.
type migration struct {
	o     Options
	j     *journal
	made  *madeWork // undone when the run is refused (workundo.go)
	fleet *fleet

	mu    sync.Mutex
	prog  Progress
	parts []*Part // indexed by job Seq-1
	busy  map[string]int
	res   Result
	// lateFailed are the job Seqs of partitions whose job succeeded but
	// whose rsync exit 23 was a real error.
	lateFailed []int
	// skippedLinks are the symbolic links rclone skipped in this run's
	// partitions; crawlSpecials the devices, FIFOs and sockets this run's
	// crawl found (it lists none); finalSpecials those rclone's final
	// pass skipped (see skips).
	skippedLinks, crawlSpecials, finalSpecials int64
	// keptSeen are the paths in res.Kept.
	keptSeen map[string]bool
	// outcomes are the copy's job outcomes (outcome.go).
	outcomes *outcomes
	// anyLocal: a node is Local; localJobs are the copy jobs that run a
	// keep check, by the SHA-256 of their text (localkeep.go).
	anyLocal  bool
	localJobs map[[32]byte]localJob
	// copyPrefix starts the text of every copy job (copyScript).
	copyPrefix string
}

// remoteDst reports whether Dst is an rclone remote.
func (o *Options) remoteDst() bool { return IsRemote(o.Tool, o.Dst) }

// IsRemote reports whether dst names an rclone remote ("name:path", the
// name before the first slash holding a colon) rather than a directory:
// only in rclone mode, and never for an absolute path.
func IsRemote(tool copytool.Tool, dst string) bool {
	if tool != copytool.Rclone || filepath.IsAbs(dst) {
		return false
	}
	first, _, _ := strings.Cut(dst, "/")
	return strings.Contains(first, ":")
}

func (o *Options) validate() error {
	if o.Tool != copytool.Rsync && o.Tool != copytool.Rclone {
		return fmt.Errorf("sync: tool must be rsync or rclone, not %s", o.Tool)
	}
	if !filepath.IsAbs(o.Src) || !filepath.IsAbs(o.Work) {
		return errors.New("sync: SRC and the work directory must be absolute paths")
	}
	if !filepath.IsAbs(o.Dst) && !o.remoteDst() {
		return errors.New("sync: DST must be an absolute path (or, with rclone, a remote)")
	}
	for _, w := range append([]string{o.Src, o.Dst, o.Work}, o.ToolArgs...) {
		if strings.ContainsAny(w, "\n\r") {
			return errors.New("sync: paths and tool arguments cannot contain a newline")
		}
	}
	if len(o.Nodes) == 0 {
		return errors.New("sync: no nodes")
	}
	return nil
}

// ErrNoNodes is returned when no node could be reached for the visibility
// check: nothing is crawled or copied.
var ErrNoNodes = errors.New("sync: no node could be reached")

// Run runs (or resumes) the sync o describes. It returns an error, and
// copies nothing, for bad options, SRC, DST and the work directory
// nested or the same once symbolic links are resolved (*OverlapError),
// a work directory that holds another
// sync (*MismatchError) or is in use (*BusyError), a node that does not
// see SRC, DST's parent or WORK, or cannot write DST or WORK
// (*VisibilityError), and when no node can be reached (ErrNoNodes); a
// node that cannot be reached while others can is dropped. A run that
// returns before its journal's first record (an error, an interrupted
// check) removes what it made: the work directory and the directories
// above it it created, its empty journal. Run as root, when the nodes
// log in as another user who cannot write the work directory's logs,
// it makes WORK/log theirs (worklogs.go). Everything
// else that goes wrong is in the Result: failed partitions, nodes lost, an
// incomplete crawl, an interrupt.
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	// SRC is resolved first, as the kernel resolves it: the crawl, the
	// copies' confinement and verify then all start from the real
	// directory, whatever links its path goes through.
	if filepath.IsAbs(o.Src) {
		r, err := filepath.EvalSymlinks(o.Src)
		if err != nil {
			return nil, fmt.Errorf("sync: SRC: %w", err)
		}
		o.Src = r
	}
	if o.Work != "" && filepath.IsAbs(o.Work) {
		o.Work = kernelClean(o.Work)
	}
	var private string // the default work directory is checked up to here
	if len(o.Nodes) > 0 {
		var err error
		if private, err = o.defaultWork(); err != nil {
			return nil, err
		}
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.Src = filepath.Clean(o.Src)
	o.nonce = randhex.String(16)
	if !o.remoteDst() {
		o.Dst = kernelClean(o.Dst)
	}
	if err := checkOverlap(&o); err != nil {
		return nil, err
	}
	if err := o.checkDst(); err != nil {
		return nil, err
	}
	if o.Delete && o.remoteDst() && o.localRemote(o.Dst) == "" {
		if err := o.srcInsideRemote(ctx); err != nil {
			return nil, err
		}
	}
	// Until the journal's first record, a refused run undoes what it made.
	made := &madeWork{dirs: missingDirs(o.Work)}
	var j *journal
	defer func() {
		if j != nil {
			j.close()
		}
	}()
	kept := false
	defer func() {
		if !kept {
			made.undo()
		}
	}()
	if private != "" {
		if err := makePrivate(o.Work, private); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(o.Work, 0o755); err != nil {
		return nil, fmt.Errorf("sync: work directory: %w", err)
	}
	dev := srcDevice(o.Src)
	if o.Delete && !o.DeleteEmptySrc {
		if err := emptySrc(o.Src); err != nil {
			return nil, err
		}
	}
	_, statErr := os.Lstat(filepath.Join(o.Work, journalName))
	j, st, err := openJournal(o.Work)
	if err != nil {
		return nil, err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		made.journal = j
	}
	if o.Delete && !o.DeleteEmptySrc && st.srcDev != 0 && dev != 0 && st.srcDev != dev {
		return nil, &DeleteRefusedError{Src: o.Src, Dev: dev, JournalDev: st.srcDev}
	}
	m := &migration{o: o, j: j, made: made, fleet: newFleet(o.Nodes), busy: map[string]int{}}
	defer m.fleet.close()
	m.copyPrefix = copyScriptPrefix()
	m.fleet.command = m.nodeCommand
	for _, n := range o.Nodes {
		m.anyLocal = m.anyLocal || n.Local
	}
	m.prog.Start = start
	m.res.Resumed = st.header != nil
	if err := m.header(st); err != nil {
		return nil, err
	}
	if err := m.check(ctx); err != nil {
		if errors.Is(err, errInterrupted) {
			m.res.Interrupted = true
			return m.result(start), nil
		}
		return nil, err
	}
	if len(m.fleet.runnerNodes(nil)) == 0 {
		return nil, ErrNoNodes
	}
	// The journal is written only once the nodes passed the check, so a
	// mistyped DST that failed it can be corrected with the same --work.
	if st.header == nil {
		err := j.append(record{T: "sync", Src: o.Src, Dst: o.Dst, Tool: o.Tool.String(), Time: time.Now().UTC()})
		if err != nil {
			return nil, err
		}
	}
	kept = true
	if st.finished(o.FinalPass) {
		// The last run finished: this is a new one (a new crawl of the
		// whole tree, the final pass), numbered as fpsync numbers runs.
		st.restart()
		if err := j.append(record{T: "restart", Run: st.run, Time: time.Now().UTC()}); err != nil {
			return nil, err
		}
		m.res.Resumed, m.res.NewRun = false, true
	}
	m.res.Run = st.run
	if err := j.append(record{T: "run", Time: time.Now().UTC(), Dev: dev}); err != nil {
		return nil, err
	}

	var pending []*Part
	for _, k := range st.order {
		p := st.parts[k]
		m.place(p)
		m.prog.Parts++
		m.prog.Files += int64(p.Files)
		m.prog.Bytes += p.Bytes
		if p.Done {
			m.prog.PartsDone++
			m.prog.CopiedFiles += int64(p.Files)
			m.prog.CopiedBytes += p.Bytes
			continue
		}
		pending = append(pending, p)
	}
	needCrawl := st.crawls == 0 || !st.crawled[st.crawls]
	m.res.CrawlComplete = !needCrawl
	m.prog.CrawlDone = !needCrawl

	if needCrawl || len(pending) > 0 {
		m.copy(ctx, st, pending, needCrawl)
	}
	switch {
	case !m.res.OK():
	case o.FinalPass:
		m.final(ctx, false)
	case o.Tool == copytool.Rsync:
		m.final(ctx, true)
	}
	return m.result(start), nil
}

// header checks that the journal, if it has begun, records this same sync.
func (m *migration) header(st *state) error {
	tool := m.o.Tool.String()
	h := st.header
	if h == nil {
		return nil
	}
	switch {
	case h.Src != m.o.Src && !sameResolved(h.Src, m.o.Src):
		return &MismatchError{Work: m.o.Work, What: "SRC", Journal: h.Src, Given: m.o.Src}
	case h.Dst != m.o.Dst:
		return &MismatchError{Work: m.o.Work, What: "DST", Journal: h.Dst, Given: m.o.Dst}
	case h.Tool != tool:
		return &MismatchError{Work: m.o.Work, What: "tool", Journal: h.Tool, Given: tool}
	}
	return nil
}

// sameResolved reports whether the journal's SRC, written before drove
// resolved SRC's symbolic links, is the SRC given.
func sameResolved(journal, given string) bool {
	r, err := filepath.EvalSymlinks(journal)
	return err == nil && r == given
}

// place fills in a partition's list and log paths.
func (m *migration) place(p *Part) {
	c := strconv.Itoa(p.Crawl)
	p.List = filepath.Join(m.o.Work, "lists", c, partition.ListName(p.Seq))
	p.Log = filepath.Join(m.o.Work, "log", c, partition.ListName(p.Seq)+".log")
}

func (m *migration) result(start time.Time) *Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.res
	r.Progress = m.prog
	r.Work = m.o.Work
	r.Elapsed = time.Since(start)
	r.Skips = m.skips()
	return &r
}

// emit delivers ev with the current progress. The caller holds m.mu, which
// is what keeps events from being delivered concurrently.
func (m *migration) emit(ev Event) {
	if m.o.Events == nil {
		return
	}
	ev.Progress = m.prog
	m.o.Events(ev)
}

// job makes p runnable: its runner job carries its index in m.parts.
// The caller holds m.mu.
func (m *migration) job(p *Part) (jobs.Job, error) {
	cmd, err := m.o.partCommand(p)
	if err != nil {
		return jobs.Job{}, err
	}
	m.parts = append(m.parts, p)
	m.noteLocal(cmd, p, m.o.partKeep(p.List))
	return jobs.Job{Seq: len(m.parts), Cmd: cmd, Origin: p.Name()}, nil
}
