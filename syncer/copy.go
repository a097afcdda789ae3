package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/partition"
	"github.com/drove-dev/drove/runner"
)

// copy runs the unfinished partitions and, when needCrawl, a crawl whose
// partitions join the queue as they close; copying starts at once.
func (m *migration) copy(ctx context.Context, st *state, pending []*Part, needCrawl bool) {
	q := newQueue()
	m.mu.Lock()
	for _, p := range pending {
		j, err := m.job(p)
		if err != nil {
			m.res.CrawlErr = err
			continue
		}
		q.push(j)
	}
	m.mu.Unlock()

	crawlCtx, cancelCrawl := context.WithCancel(ctx)
	defer cancelCrawl()
	crawlDone := make(chan struct{})
	if needCrawl {
		go func() {
			defer close(crawlDone)
			defer q.close()
			m.crawl(crawlCtx, st, q)
		}()
		go func() {
			select {
			case <-m.o.Drain:
				cancelCrawl()
			case <-crawlDone:
			}
		}()
	} else {
		q.close()
		close(crawlDone)
	}

	m.outcomes = newOutcomes(m.o.nonce, m.fleet.learnRsync)
	rep := runner.Run(ctx, runner.Config{
		Nodes:       m.fleet.runnerNodes(nil),
		Jobs:        q,
		JobOutput:   m.outcomes.jobOutput,
		OnFailure:   m.o.OnFailure,
		MaxAttempts: m.o.MaxAttempts,
		JobFault:    m.jobFault(m.outcomes),
		MaxSlots:    m.o.MaxSlots,
		Timeout:     m.o.Timeout,
		Stderr:      runner.NewOutput(m.o.Stderr),
		Tag:         true,
		Drain:       m.o.Drain,
		Events:      m.copyEvent,
	})
	// The runner is done: an interrupted crawl stops (its open partition
	// is still written and journalled, for the next run).
	q.halt()
	cancelCrawl()
	<-crawlDone

	m.mu.Lock()
	defer m.mu.Unlock()
	m.res.Interrupted = m.res.Interrupted || rep.Interrupted
	m.res.Refused = append(m.res.Refused, rep.Refused...)
	m.res.Evicted = append(m.res.Evicted, rep.Evicted...)
	failed := map[int]bool{}
	for _, seq := range m.lateFailed {
		failed[seq] = true
	}
	for _, f := range rep.Failed {
		if f.Job.Seq < 1 || f.Job.Seq > len(m.parts) {
			continue
		}
		p := m.parts[f.Job.Seq-1]
		failed[f.Job.Seq] = true
		fl := Failure{Part: *p, Reason: f.Reason}
		if n := len(f.Attempts); n > 0 {
			fl.Node, fl.Err = f.Attempts[n-1].Node, f.Attempts[n-1].Err
			fl.ToolError = toolError(m.o.Tool, p.Log)
		}
		m.res.Failed = append(m.res.Failed, fl)
	}
	for i, p := range m.parts {
		if !p.Done && !failed[i+1] {
			m.res.Unrun = append(m.res.Unrun, *p)
		}
	}
}

// crawl lists the tree as a new crawl, leaving out paths already listed by
// an earlier one, and queues each partition as it closes.
func (m *migration) crawl(ctx context.Context, st *state, q *queue) {
	crawl := st.crawls + 1
	started := time.Now()
	if err := m.j.append(record{T: "crawl", Crawl: crawl, Time: started.UTC()}); err != nil {
		m.crawlEnded(err)
		return
	}
	opts := partition.Options{
		Src:       m.o.Src,
		OutDir:    filepath.Join(m.o.Work, "lists", strconv.Itoa(crawl)),
		MaxFiles:  m.o.MaxFiles,
		MaxBytes:  m.o.MaxBytes,
		EmptyDirs: m.o.EmptyDirs,
		// drove's temporary directory in DST is never copied into itself.
		Excludes: append(slices.Clone(m.o.Excludes), "/"+TempDirName(m.o.Work)),
		Format:   listFormat(m.o.Tool),
		Walkers:  m.o.Walkers,
		OnSkip:   m.o.OnSkip,
		// A list must be on disk before the journal records it.
		Sync: true,
	}
	if len(st.order) > 0 {
		seen, err := m.listed(st)
		if err != nil {
			m.crawlEnded(err)
			return
		}
		key := func(rel string) string { return rel }
		if m.o.Tool == copytool.Rclone {
			key = partition.RclonePath
		}
		opts.Known = func(rel string) bool {
			_, ok := seen[key(rel)]
			return ok
		}
	}

	m.mu.Lock()
	baseFiles, baseBytes := m.prog.Files, m.prog.Bytes
	m.mu.Unlock()
	var listedFiles, listedBytes int64 // by this crawl, in closed partitions
	emit := func(pp partition.Partition) error {
		p := &Part{Crawl: crawl, Seq: pp.Seq, Files: pp.Files, Bytes: pp.Bytes, listed: started}
		m.place(p)
		if p.List != pp.ListPath {
			return fmt.Errorf("sync: partition wrote %s, expected %s", pp.ListPath, p.List)
		}
		if err := m.j.append(record{T: "part", Crawl: crawl, Seq: p.Seq, Files: p.Files, Bytes: p.Bytes}); err != nil {
			return err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		j, err := m.job(p)
		if err != nil {
			return err
		}
		listedFiles += int64(p.Files)
		listedBytes += p.Bytes
		m.prog.Parts++
		m.prog.Files = max(m.prog.Files, baseFiles+listedFiles)
		m.prog.Bytes = max(m.prog.Bytes, baseBytes+listedBytes)
		c := *p
		m.emit(Event{Kind: Listed, Part: &c})
		q.push(j)
		return nil
	}
	progress := func(pr partition.Progress) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.prog.Files = max(m.prog.Files, baseFiles+pr.Files)
		m.prog.Bytes = max(m.prog.Bytes, baseBytes+pr.Bytes)
		m.emit(Event{Kind: Crawling})
	}
	sum, err := partition.Run(ctx, opts, emit, progress)
	m.mu.Lock()
	m.res.Skipped = sum.Skipped
	m.crawlSpecials = sum.Special
	m.mu.Unlock()
	switch {
	case err != nil && ctx.Err() != nil:
		m.crawlEnded(ctx.Err())
	case err != nil:
		m.crawlEnded(err)
	case !sum.Complete():
		m.crawlEnded(fmt.Errorf("sync: crawl incomplete: %d entries could not be listed", sum.Skipped))
	default:
		if err := m.j.append(record{T: "crawled", Crawl: crawl}); err != nil {
			m.crawlEnded(err)
			return
		}
		m.crawlEnded(nil)
	}
}

// crawlEnded records how the crawl ended: err nil is a complete listing;
// a cancelled crawl (interrupt) is incomplete but not an error of its own.
func (m *migration) crawlEnded(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case err == nil:
		m.res.CrawlComplete = true
		m.prog.CrawlDone = true
	case errors.Is(err, context.Canceled):
	default:
		m.res.CrawlErr = err
	}
	m.emit(Event{Kind: Crawled, Err: err})
}

// listed reads every list of the journal's partitions into a set of the
// paths they hold, in the list's own form (rsync: the relative path, with
// the "./" guard removed; rclone: rclone's encoding of it).
func (m *migration) listed(st *state) (map[string]struct{}, error) {
	seen := map[string]struct{}{}
	sep := byte(0)
	if m.o.Tool == copytool.Rclone {
		sep = '\n'
	}
	for _, k := range st.order {
		p := st.parts[k]
		data, err := os.ReadFile(p.List)
		if err != nil {
			return nil, fmt.Errorf("sync: reading the list of partition %s: %w", p.Name(), err)
		}
		for _, e := range bytes.Split(data, []byte{sep}) {
			if len(e) == 0 {
				continue
			}
			s := string(e)
			if sep == 0 {
				s = strings.TrimPrefix(s, "./")
			}
			seen[s] = struct{}{}
		}
	}
	return seen, nil
}

// unconfined notes ev's node when the attempt that ended reported that
// rclone ran unconfined. The caller holds m.mu.
func (m *migration) unconfined(ev runner.Event, out outcome) {
	if !out.Unconfined || slices.Contains(m.res.Unconfined, ev.Node) {
		return
	}
	m.res.Unconfined = append(m.res.Unconfined, ev.Node)
	if out.UnconfinedMount {
		m.res.UnconfinedMount = append(m.res.UnconfinedMount, ev.Node)
	}
}

// kept adds the entries an attempt kept to the result, each once, but
// those the excludes leave out (or one of whose directories they do): the
// final pass's walk of SRC meets them, and its rsync leaves them alone
// anyway. The caller holds m.mu.
func (m *migration) kept(out outcome) {
	for _, k := range out.Kept {
		if m.keptSeen == nil {
			m.keptSeen = map[string]bool{}
		}
		if m.keptSeen[k.Path] || excludedPath(m.o.Excludes, k.Path) {
			continue
		}
		m.keptSeen[k.Path] = true
		m.res.Kept = append(m.res.Kept, k)
	}
}

// excludedPath reports whether rel (relative to SRC) or a directory above
// it matches one of the exclude globs, as the crawl matches them.
func excludedPath(excludes []string, rel string) bool {
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		for _, x := range excludes {
			subject := path.Base(p)
			if strings.Contains(x, "/") {
				subject, x = p, strings.Trim(x, "/")
			}
			if ok, _ := path.Match(x, subject); ok {
				return true
			}
		}
	}
	return false
}

// deleteLimited reports whether the last attempt in log says the copy
// tool stopped deleting at its --max-delete limit (rsync: "Deletions
// stopped due to --max-delete limit", rclone: "--max-delete threshold
// reached").
func deleteLimited(log string) bool {
	a, err := lastAttempt(log)
	return err == nil && (strings.Contains(a, "\nDeletions stopped due to --max-delete limit") ||
		strings.HasPrefix(a, "Deletions stopped due to --max-delete limit") ||
		strings.Contains(a, "--max-delete threshold reached"))
}

// onlyLimitErrors reports whether every error rsync reported in the last
// attempt in log is a consequence of its --max-delete limit: a directory
// of DST it could not empty to replace it by SRC's file ("cannot delete
// non-empty directory").
func onlyLimitErrors(log string) bool {
	a, err := lastAttempt(log)
	if err != nil {
		return false
	}
	for _, l := range strings.Split(a, "\n") {
		switch msg := copytool.ParseRsync(l); {
		case strings.HasPrefix(l, "cannot delete non-empty directory: "):
		case msg.Kind == copytool.Error || msg.Kind == copytool.Gone || msg.Kind == copytool.Vanished:
			return false
		}
	}
	return true
}

// copyEvent accounts for one runner event of the copy and passes it on.
func (m *migration) copyEvent(ev runner.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var p *Part
	if ev.Job.Seq > 0 && ev.Job.Seq <= len(m.parts) {
		p = m.parts[ev.Job.Seq-1]
	}
	isJob := ev.Kind == runner.JobStarted || ev.Kind == runner.JobSucceeded || ev.Kind == runner.JobFailed
	if isJob && p == nil {
		return // not one of ours; cannot happen
	}
	switch ev.Kind {
	case runner.JobStarted:
		m.busy[ev.Node]++
		p.Node = ev.Node
	case runner.JobSucceeded:
		m.idle(ev.Node)
		out := m.outcomes.take(ev.Job.Seq, ev.Attempt)
		m.unconfined(ev, out)
		m.kept(out)
		if out.Exit != 0 {
			// rsync exited 23 or 24: a vanished source is copied as
			// far as it exists; a real error fails the partition here,
			// without costing the node (the runner saw a success).
			if err := checkExit23(p.Log, m.o.Src, p.listed, listedIn(p.List)); err != nil {
				p.Node = ev.Node
				m.prog.PartsFailed++
				m.res.Failed = append(m.res.Failed, Failure{Part: *p, Node: ev.Node, Reason: err.Error()})
				m.lateFailed = append(m.lateFailed, ev.Job.Seq)
				break
			}
			m.res.Vanished++
		}
		if m.o.Tool == copytool.Rclone {
			// rclone ignores the listed files it cannot find: the
			// job listed DST's copies of them, judged here.
			kept := map[string]bool{}
			for _, k := range out.Kept {
				kept[k.Path] = true
			}
			n, err := checkRcloneCopy(p.List, dstListing(p.Log), m.o.Src, p.listed, p.Bytes, copytool.FollowsLinks(m.o.ToolArgs), kept)
			if err != nil {
				p.Node = ev.Node
				m.prog.PartsFailed++
				m.res.Failed = append(m.res.Failed, Failure{Part: *p, Node: ev.Node, Reason: err.Error()})
				m.lateFailed = append(m.lateFailed, ev.Job.Seq)
				break
			}
			if n > 0 {
				m.res.Vanished++
			}
		}
		p.Done, p.Node = true, ev.Node
		m.tally(p)
		m.prog.PartsDone++
		m.prog.CopiedFiles += int64(p.Files)
		m.prog.CopiedBytes += p.Bytes
		m.prog.RunBytes += p.Bytes
		err := m.j.append(record{T: "done", Crawl: p.Crawl, Seq: p.Seq, Node: ev.Node})
		if err != nil && m.res.JournalErr == nil {
			m.res.JournalErr = err
		}
	case runner.JobFailed:
		m.idle(ev.Node)
		out := m.outcomes.take(ev.Job.Seq, ev.Attempt)
		m.unconfined(ev, out)
		m.kept(out)
		if !ev.Requeued {
			m.prog.PartsFailed++
		}
	case runner.NodeEvicted, runner.NodeRefused:
		m.fleet.markBroken(ev.Node)
	}
	m.prog.Busy = len(m.busy)
	m.prog.Nodes = ev.Stats.Nodes
	m.prog.Running = ev.Stats.Running
	var cp *Part
	if p != nil {
		c := *p
		cp = &c
	}
	m.emit(Event{Kind: Copying, Run: ev, Part: cp})
}

// tally counts what the copy of p that just succeeded reported. The
// caller holds m.mu.
func (m *migration) tally(p *Part) {
	s := attemptStats(m.o.Tool, p.Log)
	m.res.Moved.add(s)
	// Each link is in one partition: the crawls never list a path twice.
	m.skippedLinks += int64(len(s.Links))
}

func (m *migration) idle(node string) {
	if m.busy[node]--; m.busy[node] <= 0 {
		delete(m.busy, node)
	}
}

// final runs the final pass once (or, with cleanup, only the removal of
// drove's temporary directory from DST), on a local node if there is one,
// else on any node still in the pool.
func (m *migration) final(ctx context.Context, cleanup bool) {
	// A final pass that deletes runs only where SRC looks as it does
	// here: on a node that sees the view marker drove writes now, or,
	// when SRC cannot be written, on a local node only.
	mark, anyNode := "", true
	var markErr error
	if m.o.Delete && !cleanup {
		name, remove, err := m.o.viewMarker()
		if err == nil {
			defer remove()
			mark = name
		} else {
			anyNode, markErr = false, err
		}
	}
	what, cmd := "final pass", m.o.finalCommand(mark)
	if cleanup {
		what, cmd = "cleanup", m.o.cleanupCommand()
	} else if mark == "" {
		m.mu.Lock()
		m.noteLocal(cmd, nil, m.o.finalKeep())
		m.mu.Unlock()
	}
	nodes := m.fleet.runnerNodes(func(n Node) bool { return n.Local })
	if len(nodes) == 0 && anyNode {
		nodes = m.fleet.runnerNodes(nil)
	}
	if len(nodes) == 0 && markErr != nil {
		m.res.FinalErr = fmt.Errorf("sync: %s: %w; without it a pass that deletes runs only on a local node, and there is none", what, markErr)
		return
	}
	if len(nodes) == 0 {
		m.res.FinalErr = fmt.Errorf("sync: %s: no node is left to run it", what)
		return
	}
	for i := range nodes {
		nodes[i].Slots = 1
	}
	log := filepath.Join(m.o.Work, "log", "final.log")
	finalStart := time.Now()
	var checkErr error
	limitedFail := false // rclone failed because it stopped deleting at --max-delete
	attempts := m.o.MaxAttempts
	if m.o.LimitDelete && m.o.Delete {
		// Each attempt would delete up to the limit again.
		attempts = 1
	}
	outs := newOutcomes(m.o.nonce, m.fleet.learnRsync)
	rep := runner.Run(ctx, runner.Config{
		Nodes:       nodes,
		Jobs:        &jobs.Strings{Cmds: []string{cmd}, Name: what},
		JobOutput:   outs.jobOutput,
		OnFailure:   runner.Retry,
		MaxAttempts: attempts,
		JobFault:    m.jobFault(outs),
		Stderr:      runner.NewOutput(m.o.Stderr),
		Tag:         true,
		Drain:       m.o.Drain,
		Events: func(ev runner.Event) {
			m.mu.Lock()
			defer m.mu.Unlock()
			switch ev.Kind {
			case runner.NodeEvicted, runner.NodeRefused:
				m.fleet.markBroken(ev.Node)
			case runner.JobSucceeded:
				out := outs.take(ev.Job.Seq, ev.Attempt)
				m.unconfined(ev, out)
				m.kept(out)
				if !cleanup {
					s := attemptStats(m.o.Tool, log)
					m.res.FinalMoved.add(s)
					m.finalSpecials = int64(len(s.Specials))
				}
				if m.o.LimitDelete && m.o.Delete && (out.Exit != 0 || m.o.Tool == copytool.Rclone) && deleteLimited(log) {
					m.res.DeleteLimited = true
				}
				switch {
				case out.Exit == 23 && m.res.DeleteLimited && onlyLimitErrors(log):
					// What rsync could not replace because the limit
					// kept it from emptying a directory.
				case out.Exit == 23 || out.Exit == 24:
					if checkErr = checkExit23(log, m.o.Src, finalStart, nil); checkErr == nil {
						m.res.Vanished++
					}
				}
			case runner.JobFailed:
				out := outs.take(ev.Job.Seq, ev.Attempt)
				m.unconfined(ev, out)
				m.kept(out)
				if m.o.LimitDelete && m.o.Delete && deleteLimited(log) {
					limitedFail = true
				}
			}
			if !cleanup {
				m.emit(Event{Kind: Final, Run: ev})
			}
		},
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	if limitedFail && !rep.Interrupted {
		// rclone exits 7 when it stops deleting at --max-delete, after
		// every copy (it deletes last): the pass did what it was allowed.
		m.res.DeleteLimited = true
		rep.Failed = nil
	}
	switch {
	case rep.OK() && checkErr != nil:
		m.res.FinalErr = fmt.Errorf("sync: final pass: %w (see %s)", checkErr, log)
	case rep.OK() && cleanup:
	case rep.OK():
		m.res.FinalRan = true
		if err := m.j.append(record{T: "final", Time: time.Now().UTC()}); err != nil {
			m.res.JournalErr = err
		}
	case rep.Interrupted:
		m.res.Interrupted = true
	case len(rep.Failed) > 0 && len(rep.Failed[0].Attempts) > 0:
		a := rep.Failed[0].Attempts
		why := ""
		if l := toolError(m.o.Tool, log); l != "" && !cleanup {
			why = ": " + l
		}
		m.res.FinalErr = fmt.Errorf("sync: %s failed on %s: %w%s (see %s)", what, a[len(a)-1].Node, staleViewError(a[len(a)-1].Err), why, log)
	default:
		m.res.FinalErr = fmt.Errorf("sync: %s could not run: no node could be reached (see %s)", what, log)
	}
}
