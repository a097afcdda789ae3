package termview

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
)

// Run renders a run's events on stderr: one line per node dropped or
// evicted and per job failure, clstr's status line with --status, and the
// accounting at the end. It is called from the runner's event goroutine
// only.
type Run struct {
	// Hint, when set, may add advice to a node's error (the command
	// layer names flags there); "" adds nothing.
	Hint func(error) string

	w       io.Writer
	show    bool
	verbose int
	line    *line
	stats   runner.Stats
	start   time.Time
	known   int // the total counted up front; -1 if not known
}

// NewRun returns the view of a run on scr's stderr: show draws the status
// line (clstr's --status); verbose > 0 says more, > 1 lists every job that
// never ran.
func NewRun(scr *Screen, show bool, verbose int) *Run {
	return &Run{w: scr.Messages(), show: show, verbose: verbose, start: time.Now(), line: newLine(scr, show), known: -1}
}

// SetTotal gives the number of jobs counted before the run (every job
// file a regular file), shown as the total while the runner is still
// reading the stream. Call it before the run starts. A stream that turns
// out longer shows its own count again, with "+".
func (u *Run) SetTotal(n int) { u.known = n }

// withTotal is s with the total counted up front, when there is one and
// the runner has not read past it.
func (u *Run) withTotal(s runner.Stats) runner.Stats {
	if !s.TotalKnown && u.known >= s.Total {
		s.Total, s.TotalKnown = u.known, true
	}
	return s
}

// statusLine is clstr's status line, with an ETA once there is enough to
// estimate one.
func (u *Run) statusLine(s runner.Stats) string {
	s = u.withTotal(s)
	line := statusLine(s)
	if eta, ok := s.ETA(time.Since(u.start)); ok && !s.Draining && s.Running > 0 {
		line += " ETA " + eta.Round(time.Second).String()
		if !s.TotalKnown {
			line += " for the jobs known so far"
		}
		line += "."
	}
	return line
}

// statusLine is clstr's status line.
func statusLine(s runner.Stats) string {
	total := fmt.Sprint(s.Total)
	if !s.TotalKnown {
		total += "+"
	}
	line := fmt.Sprintf("%d of %s jobs complete, %d of %d nodes running jobs.", s.Done(), total, s.Running, s.Slots)
	if s.Pending > 0 {
		line += fmt.Sprintf(" %d connecting.", s.Pending)
	}
	if s.Draining && s.Running > 0 {
		line += fmt.Sprintf(" Stopping: no new jobs; waiting for %d running (Ctrl-C again kills them).", s.Running)
	}
	return line
}

// killed counts the jobs of rep that failed only because the run was
// interrupted (their last attempt killed by the second Ctrl-C): they are not
// complete, and --resume runs them again.
func killed(rep *runner.Report) int {
	n := 0
	for _, f := range rep.Failed {
		if interruptedJob(f) {
			n++
		}
	}
	return n
}

// interruptedJob says whether f's last attempt was killed by an interrupt.
func interruptedJob(f runner.Failure) bool {
	return len(f.Attempts) > 0 && errors.Is(f.Attempts[len(f.Attempts)-1].Err, runner.ErrKilled)
}

// finalLine is the status line at the end: killed jobs are not complete,
// and nothing is waited for any more.
func (u *Run) finalLine(rep *runner.Report) string {
	s := u.withTotal(rep.Stats)
	k := killed(rep)
	s.Failed -= k
	s.Draining = false
	line := statusLine(s)
	if k > 0 {
		line += fmt.Sprintf(" %d killed by the interrupt.", k)
	}
	return line
}

// Event is runner.Config.Events (or part of it).
func (u *Run) Event(ev runner.Event) {
	u.stats = ev.Stats
	switch ev.Kind {
	case runner.NodeRefused:
		u.message("drove: node %s dropped: %s", ev.Node, describe(u.Hint, ev.Node, ev.Err))
	case runner.JobFailed:
		u.jobFailed(ev)
	case runner.NodeRetired:
		if u.verbose > 0 {
			u.message("drove: node %s retired: it ran as many jobs as a node may", ev.Node)
		}
	case runner.Draining:
		u.message("drove: interrupted: starting no new jobs; waiting for %d running (Ctrl-C again kills them)", ev.Stats.Running)
	case runner.NodeResized:
		u.message("drove: node %s now has %s", ev.Node, ev.Reason)
	case runner.NodeJoined:
		u.message("drove: node %s joined the pool", ev.Node)
	case runner.NodeLeaving:
		u.message("drove: node %s is no longer listed: it finishes its running jobs and takes no new ones", ev.Node)
	case runner.NodeLeft:
		if u.verbose > 0 {
			u.message("drove: node %s left the pool", ev.Node)
		}
	case runner.NodeReadmitted:
		switch {
		case ev.Job.Seq != 0:
			// The job that failed there was found at fault.
			job := "'" + excerpt(ev.Job.Cmd) + "'"
			if utf8.RuneCountInString(ev.Job.Cmd) > excerptRunes {
				job = fmt.Sprintf("%d %s", ev.Job.Seq, job) // cut: the number says which
			}
			u.message("drove: node %s readmitted: job %s %s", ev.Node, job, ev.Reason)
		case ev.Reason != "":
			u.message("drove: node %s readmitted: %s", ev.Node, ev.Reason)
		default:
			u.message("drove: node %s passed its probe and is back in the pool", ev.Node)
		}
	case runner.NodeProbeFailed:
		u.message("drove: node %s stays out: %s", ev.Node, describe(u.Hint, ev.Node, ev.Err))
	}
	if u.show {
		u.draw(false)
	}
}

func (u *Run) jobFailed(ev runner.Event) {
	what := "failed for good"
	switch {
	case ev.Requeued:
		what = "requeued"
	case errors.Is(ev.Err, runner.ErrKilled):
		what = "not complete (a resumed run runs it again)"
	}
	if ev.Evicted {
		u.message("drove: evicted node %s: job %s %s; %s", ev.Node, quotedJob(ev.Job.Seq, ev.Job.Cmd), describe(u.Hint, ev.Node, ev.Err), what)
		return
	}
	u.message("drove: job %s %s on node %s; %s", quotedJob(ev.Job.Seq, ev.Job.Cmd), describe(u.Hint, ev.Node, ev.Err), ev.Node, what)
}

// message prints one line, keeping a terminal status line intact.
func (u *Run) message(format string, args ...any) {
	u.line.message(format, args...)
	if u.line.terminal() {
		u.draw(true)
	}
}

// draw shows the status line: redrawn in place on a terminal, otherwise a
// plain line at most once a second.
func (u *Run) draw(force bool) {
	s := u.withTotal(u.stats)
	total := int64(s.Total)
	if !s.TotalKnown {
		total = 0 // no percentage while the total is unknown
	}
	u.line.show(u.statusLine(u.stats), int64(s.Done()), total, force)
}

// Finish prints the final status line and accounts for every job that did
// not succeed.
func (u *Run) Finish(rep *runner.Report) {
	u.stats = rep.Stats
	if u.show {
		u.line.finish(u.finalLine(rep))
	}
	for _, f := range rep.Failed {
		var tries []string
		for _, a := range f.Attempts {
			tries = append(tries, fmt.Sprintf("%s on %s", describe(u.Hint, a.Node, a.Err), a.Node))
		}
		if len(tries) == 0 {
			tries = append(tries, "never started")
		}
		head := "drove: failed: "
		if interruptedJob(f) {
			head = "drove: interrupted: "
		}
		line := fmt.Sprintf("%s%s (%s): %s", head, excerpt(f.Job.Cmd), f.Job.Origin, strings.Join(tries, "; "))
		if f.Reason != "" {
			line += " [" + f.Reason + "]"
		}
		fmt.Fprintln(u.w, line)
	}
	const listCap = 20
	for i, j := range rep.Unrun {
		if i == listCap && u.verbose < 2 {
			fmt.Fprintf(u.w, "drove: ... and %d more jobs never ran (-vv lists them all)\n", len(rep.Unrun)-listCap)
			break
		}
		if j.Cmd == "" {
			// A line the reader could not make a job of (the only way a
			// job has no text).
			fmt.Fprintf(u.w, "drove: never ran: %s: a line longer than a job may be (%d bytes)\n", j.Origin, jobs.MaxLineBytes)
			continue
		}
		fmt.Fprintf(u.w, "drove: never ran: %s (%s)\n", excerpt(j.Cmd), j.Origin)
	}
	if rep.Unread {
		if s := u.withTotal(rep.Stats); s.TotalKnown {
			n := s.Total - rep.Stats.Total
			fmt.Fprintf(u.w, "drove: %d more %s in the job files %s not read, so %s never ran\n", n, plural(n, "job", "jobs"), plural(n, "was", "were"), plural(n, "it", "they"))
		} else {
			fmt.Fprintln(u.w, "drove: the rest of the job stream was not read, so those jobs never ran")
		}
	}
	if !rep.OK() || u.verbose > 0 || len(rep.Refused) > 0 {
		fmt.Fprintln(u.w, u.summary(rep))
	}
}

func (u *Run) summary(rep *runner.Report) string {
	s := u.withTotal(rep.Stats)
	total := fmt.Sprint(s.Total)
	if !s.TotalKnown {
		total += "+"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "drove: %d of %s jobs succeeded", rep.Succeeded, total)
	k := killed(rep)
	if n := len(rep.Failed) - k; n > 0 {
		fmt.Fprintf(&b, ", %d failed", n)
	}
	if k > 0 {
		fmt.Fprintf(&b, ", %d killed by the interrupt (a resumed run runs them again)", k)
	}
	if n := len(rep.Unrun); n > 0 {
		fmt.Fprintf(&b, ", %d never ran", n)
	}
	if rep.Unread {
		if s.TotalKnown {
			fmt.Fprintf(&b, ", %d never read", s.Total-rep.Stats.Total)
		} else {
			b.WriteString(", the rest never ran")
		}
	}
	if n := len(rep.Refused); n > 0 {
		fmt.Fprintf(&b, "; %d node(s) unreachable", n)
	}
	if n := len(rep.Evicted); n > 0 {
		fmt.Fprintf(&b, "; %d node(s) evicted", n)
	}
	if n := s.Pending; n > 0 {
		fmt.Fprintf(&b, "; %d node(s) still connecting when the work ran out", n)
	}
	if rep.Interrupted {
		b.WriteString("; interrupted")
	}
	return b.String()
}

// plural is one or many by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
