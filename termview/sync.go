package termview

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drove-dev/drove/partition"
	"github.com/drove-dev/drove/runner"
	"github.com/drove-dev/drove/syncer"
)

// Sync renders a sync on stderr: one line per node dropped or evicted and
// per partition failure, a progress line with --status (redrawn in place on
// a terminal, otherwise a plain line at most once a second), and the
// summary at the end, always. Events arrive from the crawl and the runner,
// and skipped entries from the crawl: mu orders them.
type Sync struct {
	// Hint, when set, may add advice to a node's error (the command
	// layer names flags there); "" adds nothing.
	Hint func(error) string

	mu      sync.Mutex
	w       io.Writer
	show    bool
	verbose int
	line    *line
	prog    syncer.Progress
	stats   runner.Stats
	phase   string
	stop    chan struct{} // ends the ticker
	stopped bool
}

// NewSync returns the view of a sync on w: show draws the progress line;
// verbose > 0 says more, > 1 lists every partition.
func NewSync(scr *Screen, show bool, verbose int) *Sync {
	u := &Sync{w: scr.Messages(), show: show, verbose: verbose, stop: make(chan struct{}), line: newLine(scr, show)}
	if show {
		// Copies can run for minutes without an event: redraw anyway.
		go u.tick()
	}
	return u
}

// syncLine is the progress line: what is copied of what has been listed
// so far ("+" while the crawl goes on), this run's rate, the ETA and how
// many nodes are copying.
func syncLine(p syncer.Progress, stats runner.Stats, phase string) string {
	plus := ""
	if !p.CrawlDone {
		plus = "+"
	}
	el := time.Since(p.Start)
	rate := float64(p.RunBytes) / max(el.Seconds(), 0.001)
	line := fmt.Sprintf("%d of %d%s files, %s of %s%s copied, %s/s", p.CopiedFiles, p.Files, plus,
		partition.FormatSize(p.CopiedBytes), partition.FormatSize(p.Bytes), plus, partition.FormatSize(int64(rate)))
	if rate > 0 && p.Bytes > p.CopiedBytes {
		eta := time.Duration(float64(p.Bytes-p.CopiedBytes) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf(", ETA %s%s", eta, plus)
	}
	line += fmt.Sprintf(", %d of %d nodes busy", p.Busy, stats.Nodes)
	if stats.Pending > 0 {
		line += fmt.Sprintf(", %d connecting", stats.Pending)
	}
	if phase != "" {
		line += "; " + phase
	}
	if stats.Draining {
		line += fmt.Sprintf(". Stopping: no new partitions; waiting for %d running (Ctrl-C again kills them).", stats.Running)
	}
	return line
}

// Event is syncer.Options.Events.
func (u *Sync) Event(ev syncer.Event) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.prog = ev.Progress
	switch ev.Kind {
	case syncer.Checking:
		if ev.Run.Kind == runner.NodeRefused {
			u.messagef("drove: sync: node %s dropped: %s", ev.Run.Node, describe(u.Hint, ev.Run.Node, ev.Run.Err))
		}
		u.phase = "checking nodes"
	case syncer.Copying:
		u.stats = ev.Run.Stats
		u.phase = ""
		u.copying(ev)
	case syncer.Final:
		u.stats = ev.Run.Stats
		u.phase = "final pass"
		switch ev.Run.Kind {
		case runner.JobStarted:
			u.messagef("drove: sync: final pass on %s", ev.Run.Node)
		case runner.JobFailed:
			u.messagef("drove: sync: final pass %s on node %s", describe(u.Hint, ev.Run.Node, ev.Run.Err), ev.Run.Node)
		}
	case syncer.Crawled:
		if ev.Err == nil && u.verbose > 0 {
			u.messagef("drove: sync: crawl complete: %d files, %s in %d partitions", ev.Progress.Files, partition.FormatSize(ev.Progress.Bytes), ev.Progress.Parts)
		}
	}
	if u.show {
		u.draw(false)
	}
}

func (u *Sync) copying(ev syncer.Event) {
	r := ev.Run
	switch r.Kind {
	case runner.NodeRefused:
		u.messagef("drove: sync: node %s dropped: %s", r.Node, describe(u.Hint, r.Node, r.Err))
	case runner.NodeEvicted:
		u.messagef("drove: sync: node %s evicted: %s", r.Node, describe(u.Hint, r.Node, r.Err))
	case runner.JobFailed:
		what := "failed for good"
		if r.Requeued {
			what = "will be retried on another node"
		}
		u.messagef("drove: sync: partition %s %s on node %s; %s (log %s)", ev.Part.Name(), describe(u.Hint, r.Node, r.Err), r.Node, what, ev.Part.Log)
	case runner.JobSucceeded:
		if u.verbose > 1 {
			u.messagef("drove: sync: partition %s copied on %s (%d files, %s)", ev.Part.Name(), r.Node, ev.Part.Files, partition.FormatSize(ev.Part.Bytes))
		}
	case runner.Draining:
		u.messagef("drove: sync: interrupted: no new partitions; waiting for %d running (Ctrl-C again kills them)", r.Stats.Running)
	}
}

// Message prints one line, keeping a terminal progress line intact.
func (u *Sync) Message(format string, args ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.messagef(format, args...)
}

func (u *Sync) messagef(format string, args ...any) {
	u.line.message(format, args...)
	if u.line.terminal() {
		u.draw(true)
	}
}

func (u *Sync) draw(force bool) {
	total := u.prog.Bytes
	if !u.prog.CrawlDone {
		total = 0 // no percentage while the crawl goes on
	}
	u.line.show(syncLine(u.prog, u.stats, u.phase), u.prog.CopiedBytes, total, force)
}

func (u *Sync) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			u.mu.Lock()
			if !u.stopped && !u.prog.Start.IsZero() {
				u.draw(false)
			}
			u.mu.Unlock()
		case <-u.stop:
			return
		}
	}
}

// Finish stops the progress line; the summary follows.
func (u *Sync) Finish() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.stopped {
		u.stopped = true
		close(u.stop)
	}
	u.line.finish("")
}

// Summary prints the account of the run: totals, throughput, and every
// partition that failed or never ran, with its list, node, status and log.
func (u *Sync) Summary(r *syncer.Result, work string) {
	u.Finish()
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.w, "drove: sync: %d of %d files (%s of %s) done in %d of %d partitions (%d failed, %d not run), %s",
		r.CopiedFiles, r.Files, partition.FormatSize(r.CopiedBytes), partition.FormatSize(r.Bytes),
		r.PartsDone, r.Parts, len(r.Failed), len(r.Unrun), r.Elapsed.Round(time.Millisecond))
	switch {
	case r.FinalRan:
		fmt.Fprint(u.w, "; final pass done")
	case r.FinalErr != nil:
		fmt.Fprint(u.w, "; final pass FAILED")
	}
	fmt.Fprintln(u.w)
	fmt.Fprintln(u.w, "drove: sync: "+moved(r))
	for _, s := range r.Skips {
		fmt.Fprintf(u.w, "drove: sync: skipped: %d %s (%s)\n", s.Count, s.What, s.Why)
	}
	if r.Resumed {
		fmt.Fprintf(u.w, "drove: sync: resumed from %s: this run copied %d of its partitions\n", work, r.Moved.Copies)
	}
	var noNamespace []string
	for _, n := range r.Unconfined {
		if !slices.Contains(r.UnconfinedMount, n) {
			noNamespace = append(noNamespace, n)
		}
	}
	const risk = "a directory of SRC swapped for a symlink during a copy could have led it outside SRC (see docs/sync.md, \"Live trees\")"
	if len(noNamespace) > 0 {
		fmt.Fprintf(u.w, "drove: sync: warning: rclone ran unconfined on %s (no mount namespace there): %s\n", strings.Join(noNamespace, ", "), risk)
	}
	if len(r.UnconfinedMount) > 0 {
		fmt.Fprintf(u.w, "drove: sync: warning: rclone ran unconfined on %s (SRC could not be bind-mounted, or remounted nosymfollow, in a mount namespace there: the copy's log says which; nosymfollow needs Linux 5.10): %s\n", strings.Join(r.UnconfinedMount, ", "), risk)
	}
	if r.Vanished > 0 {
		fmt.Fprintf(u.w, "drove: sync: note: source files vanished after they were listed, during %d copies (a live tree; not a failure: the final pass catches up)\n", r.Vanished)
	}
	for _, f := range r.Failed {
		fmt.Fprintf(u.w, "drove: sync: failed: partition %s, list %s, node %s, %s, log %s\n",
			f.Part.Name(), f.Part.List, orDash(f.Node), failReason(f), f.Part.Log)
	}
	for i, p := range r.Unrun {
		if i == 20 && u.verbose < 2 {
			fmt.Fprintf(u.w, "drove: sync: ... and %d more not run (-vv lists them)\n", len(r.Unrun)-i)
			break
		}
		fmt.Fprintf(u.w, "drove: sync: not run: partition %s, list %s\n", p.Name(), p.List)
	}
	if r.CrawlErr != nil {
		fmt.Fprintf(u.w, "drove: %v\n", r.CrawlErr)
	} else if !r.CrawlComplete && !r.Interrupted {
		fmt.Fprintln(u.w, "drove: sync: the crawl did not finish")
	}
	if r.FinalErr != nil {
		fmt.Fprintf(u.w, "drove: %v\n", r.FinalErr)
	}
	if r.JournalErr != nil {
		fmt.Fprintf(u.w, "drove: %v (the next run copies those partitions again)\n", r.JournalErr)
	}
}

// Verified prints what a verify found.
func (u *Sync) Verified(rep *syncer.VerifyReport, how string, took time.Duration) {
	u.mu.Lock()
	defer u.mu.Unlock()
	what := "size and mtime"
	if how == "checksum" {
		what = "content"
	}
	fmt.Fprintf(u.w, "drove: sync: verify (%s): %d entries compared of %d listed, %d differences", what, rep.Checked, rep.Listed, rep.Differences)
	if rep.Specials > 0 {
		fmt.Fprintf(u.w, ", %d devices, FIFOs or sockets not compared", rep.Specials)
	}
	if rep.Extras > 0 {
		fmt.Fprintf(u.w, ", %d entries only in DST", rep.Extras)
	}
	fmt.Fprintf(u.w, ", %s\n", took.Round(time.Millisecond))
	for _, d := range rep.List {
		fmt.Fprintf(u.w, "drove: sync: differs: %q: %s\n", d.Path, d.What)
	}
}

// moved says what this run's copies transferred, what DST already had
// and what the final pass transferred, as the tools reported it, with the
// rate of the bytes transferred.
func moved(r *syncer.Result) string {
	m := r.Moved
	rate := float64(m.Bytes+r.FinalMoved.Bytes) / max(r.Elapsed.Seconds(), 0.001)
	s := fmt.Sprintf("this run transferred %d %s, %s (%s/s); %d %s already in DST", m.Files, plural(int(min(m.Files, 2)), "file", "files"),
		partition.FormatSize(m.Bytes), partition.FormatSize(int64(rate)), m.Present, plural(int(min(m.Present, 2)), "file was", "files were"))
	if m.Unreported > 0 {
		s += fmt.Sprintf(" (not counted: %d of %d copies printed no statistics)", m.Unreported, m.Copies)
	}
	if f := r.FinalMoved; f.Copies > 0 {
		if f.Unreported > 0 {
			s += "; the final pass printed no statistics"
		} else {
			s += fmt.Sprintf("; the final pass transferred %d %s, %s", f.Files, plural(int(min(f.Files, 2)), "file", "files"), partition.FormatSize(f.Bytes))
		}
	}
	return s
}

// failReason is why a partition failed: its last attempt's error, or the
// runner's reason when it never ran.
func failReason(f syncer.Failure) string {
	if f.Err == nil {
		return f.Reason
	}
	if f.ToolError != "" {
		return runner.Describe(f.Node, f.Err) + ": " + f.ToolError
	}
	return runner.Describe(f.Node, f.Err)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
