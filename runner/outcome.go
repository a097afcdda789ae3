package runner

import (
	"errors"
	"fmt"

	"github.com/drove-dev/drove/jobs"
)

// done handles an attempt's end: success, or a failure whose consequence
// (requeue, eviction, failure for good) depends on the error and
// --on-failure.
func (p *pool) done(r result) {
	n, js := r.n, r.js
	n.running--
	p.running--
	freed := r.slot < n.Slots // not a slot a resize took away
	if freed {
		n.free = append(n.free, r.slot)
	}
	js.attempts = append(js.attempts, Attempt{Node: n.Name, Err: r.err, Start: r.start, Duration: r.dur})
	var nodeErr *NodeError
	isNodeErr := errors.As(r.err, &nodeErr)
	ev := Event{Node: n.Name, Slot: r.slot, Job: js.job, Attempt: len(js.attempts), Err: r.err, Start: r.start, Duration: r.dur, Stdout: r.stdout}
	jobFault := r.err != nil && !isNodeErr && p.jobFault(js, ev)
	switch {
	case jobFault:
		if js.faulted == nil {
			js.faulted = map[*node]bool{}
		}
		js.faulted[n] = true
	case r.err != nil && !isNodeErr:
		// A transport failure is the node's, not the job's: the job may
		// run there again if the node comes back.
		if js.tried == nil {
			js.tried = map[*node]bool{}
		}
		js.tried[n] = true
	}

	if r.err == nil {
		p.rep.Stats.Succeeded++
		ev.Kind = JobSucceeded
		p.emit(ev)
		p.judge(js, false, nil) // the nodes it failed on are to blame
		p.slotFree(n, freed)
		return
	}
	ev.Kind = JobFailed
	if js.pin != nil {
		if isNodeErr && p.rerunPinned(js, n, ev, freed) {
			return
		}
		p.failWith(js, ev, "")
		p.slotFree(n, freed)
		return
	}
	switch {
	case errors.Is(r.err, ErrJobUnstartable):
		// The job's own fault, the same on every node.
		p.failWith(js, ev, "no node can start it")
	case errors.Is(r.err, ErrKilled):
		p.failWith(js, ev, "the run was interrupted")
	case jobFault && p.cfg.MaxAttempts == 0 && len(js.attempts) >= FaultAttempts:
		// No cap, but no eviction to end its tries either.
		p.failWith(js, ev, fmt.Sprintf("failed %d times by its own fault", len(js.attempts)))
		p.judge(js, true, failedOnNodes)
	case jobFault:
		// The node answered and is healthy: it stays, blamed for
		// nothing; the verdict on the nodes the job failed on before
		// comes as for any job that fails for good.
		if p.requeueOrFail(js, ev) {
			p.judge(js, true, failedOnNodes)
		}
	case isNodeErr && rerouted(r.err) && n.state == nodeUp:
		// The node's route failed, not the node: it stays, and its Host
		// takes another route at its next Run (route.go).
		p.requeueOrFail(js, ev)
	case isNodeErr, p.cfg.OnFailure == Evict:
		ev.Evicted = n.state == nodeUp
		if isNodeErr {
			n.lost = true
		} else {
			p.suspect(n, js)
		}
		final := p.requeueOrFail(js, ev)
		p.evict(n, r.err, js.job)
		p.slotFree(n, freed)
		if final {
			// The verdict comes after the eviction it may undo, and
			// after the slot is free (a readmitted node's free slots
			// become its tokens).
			p.judge(js, true, failedOnNodes)
		}
		return
	case p.cfg.OnFailure == Retry:
		p.requeueOrFail(js, ev)
	default: // Keep
		p.failWith(js, ev, "failed where it ran; on failure nodes are kept and jobs not retried (Keep)")
	}
	p.slotFree(n, freed)
}

// jobFault asks Config.JobFault whether the failure ev of an attempt the
// node answered is the job's own (see Config.JobFault).
func (p *pool) jobFault(js *jobState, ev Event) bool {
	if p.cfg.JobFault == nil || js.pin != nil || p.cfg.OnFailure == Keep ||
		errors.Is(ev.Err, ErrJobUnstartable) || errors.Is(ev.Err, ErrKilled) {
		return false
	}
	ev.Kind = JobFailed
	return p.cfg.JobFault(ev)
}

// requeueOrFail requeues a failed job, or fails it for good when it has
// had its MaxAttempts; it reports whether it failed it.
func (p *pool) requeueOrFail(js *jobState, ev Event) bool {
	if p.cfg.MaxAttempts > 0 && len(js.attempts) >= p.cfg.MaxAttempts {
		p.failWith(js, ev, fmt.Sprintf("failed on %d nodes, as many as a job may try", len(js.attempts)))
		return true
	}
	ev.Requeued = true
	p.emit(ev)
	p.retry = append(p.retry, js)
	return false
}

func (p *pool) failWith(js *jobState, ev Event, reason string) {
	p.rep.Stats.Failed++
	p.rep.Failed = append(p.rep.Failed, Failure{Job: js.job, Attempts: js.attempts, Reason: reason})
	ev.Reason = reason
	p.emit(ev)
}

// fail fails a requeued job that cannot run anywhere any more, and says so
// with JobAbandoned: its JobFailed said it would run again.
func (p *pool) fail(js *jobState, reason string) {
	p.rep.Stats.Failed++
	p.rep.Failed = append(p.rep.Failed, Failure{Job: js.job, Attempts: js.attempts, Reason: reason})
	ev := Event{Kind: JobAbandoned, Job: js.job, Attempt: len(js.attempts), Reason: reason}
	if n := len(js.attempts); n > 0 {
		last := js.attempts[n-1]
		ev.Node, ev.Err, ev.Start, ev.Duration = last.Node, last.Err, last.Start, last.Duration
	}
	p.emit(ev)
}

// neverRan lists a job read from the stream that will never start.
func (p *pool) neverRan(j jobs.Job, reason string) {
	p.rep.Unrun = append(p.rep.Unrun, j)
	p.emit(Event{Kind: JobNeverRan, Job: j, Reason: reason})
}

// slotFree returns a finished attempt's slot to the pool, retires a node
// that has run its --max-node-uses, lets a node that was removed from the
// list leave, and closes the host of a node out of the pool once nothing
// runs there.
func (p *pool) slotFree(n *node, freed bool) {
	inPool := n.state == nodeUp && p.cfg.EachNode == "" && !p.draining
	if inPool && p.usable(n) {
		if freed {
			p.tokens = append(p.tokens, n) // one token per free slot
		}
		return
	}
	if n.running > 0 {
		return
	}
	switch {
	case inPool && n.leaving:
		n.state = nodeGone
		p.emit(Event{Kind: NodeLeft, Node: n.Name})
	case inPool:
		n.state = nodeGone
		p.emit(Event{Kind: NodeRetired, Node: n.Name})
	case n.state == nodeUp:
		n.state = nodeGone
	}
	p.closeIfOut(n)
}

// removeTokens takes every token of n out of the queue.
func (p *pool) removeTokens(n *node) {
	kept := p.tokens[:0]
	for _, t := range p.tokens {
		if t != n {
			kept = append(kept, t)
		}
	}
	clear(p.tokens[len(kept):])
	p.tokens = kept
}

func (p *pool) closeHost(n *node) {
	if n.host != nil && !n.closed {
		n.closed = true
		_ = n.host.Close()
	}
}

func (p *pool) evict(n *node, err error, job jobs.Job) {
	if n.state != nodeUp {
		return
	}
	n.state = nodeGone
	p.rep.Evicted = append(p.rep.Evicted, NodeFailure{Node: n.Name, Err: err})
	p.emit(Event{Kind: NodeEvicted, Node: n.Name, Err: err, Job: job})
	p.scheduleProbe(n)
}
