package runner

import (
	"fmt"
	"slices"

	"github.com/drove-dev/drove/jobs"
)

// Whose fault a failure is. Under --on-failure evict a job's own failure
// (exit status, signal, timeout) evicts its node, as in clstr: a failing
// job means a broken node. But a job that fails wherever it goes is itself
// at fault, and the nodes it evicted are not. So, when MaxAttempts bounds
// the attempts (clstr's unlimited requeueing keeps clstr's model whole):
//
//   - a node evicted by job failures keeps its connection and waits for the
//     verdict on each job that failed there (its suspects);
//   - a job is at fault when it fails for good, by its own failures, having
//     had its MaxAttempts attempts, or having failed on every node left to
//     it (it never succeeded anywhere);
//   - a job that succeeds after failing is not at fault: the nodes it
//     failed on are (guilty) and stay out;
//   - a node comes back (NodeReadmitted, naming the job) once every job
//     that failed on it has been found at fault, unless it is guilty, lost
//     its connection (a *NodeError) or left the node list;
//   - when nothing runs, nothing connects, jobs remain and none can start,
//     the nodes still waiting for a verdict come back on trust
//     (NodeReadmitted without a job): the jobs that failed there may be
//     the ones at fault, and a fleet emptied by them would run nothing.
//
// Readmission and trust are bounded: a job fails at most once on each node
// (it never returns to a node it failed on), so each readmission is paid
// for by a job attempt that could not have happened otherwise.

// judging reports whether job failures are judged (see above).
func (p *pool) judging() bool {
	return p.cfg.OnFailure == Evict && p.cfg.MaxAttempts > 0 && p.cfg.EachNode == ""
}

// suspect records that js failed on n by its own failure.
func (p *pool) suspect(n *node, js *jobState) {
	if !p.judging() {
		return
	}
	if n.suspects == nil {
		n.suspects = map[*jobState]bool{}
	}
	n.suspects[js] = true
}

// awaiting reports whether n is out of the pool for job failures only,
// waiting for their verdict: it may come back, and its connection is kept.
func (p *pool) awaiting(n *node) bool {
	return (n.state == nodeGone || n.state == nodeProbing) && len(n.suspects) > 0 && !n.guilty && !n.lost && !n.leaving
}

// judge gives the verdict on a job that will not run again: at fault or
// not (see the rules above), readmitting the nodes it alone kept out, or
// keeping out for good those it failed on. A job that ended otherwise
// (interrupted, killed) gets no verdict.
func (p *pool) judge(js *jobState, atFault bool, how func(tried int) string) {
	if !p.judging() || len(js.tried) == 0 {
		return
	}
	var ns []*node
	for n := range js.tried {
		if n.suspects[js] {
			ns = append(ns, n)
		}
	}
	// In list order, so that readmitted slots queue up the same way each
	// time.
	slices.SortFunc(ns, func(a, b *node) int { return a.seq - b.seq })
	for _, n := range ns {
		delete(n.suspects, js)
		switch {
		case !atFault:
			n.guilty = true
			p.closeIfOut(n)
		case len(n.suspects) == 0 && !n.guilty && !n.lost && !n.leaving && n.state != nodeUp:
			p.readmit(n, js.job, how(len(js.tried))+", the job is at fault")
		}
	}
}

// failedOnNodes and failedOnEveryNode say how a job at fault failed, for
// the readmissions it brings.
func failedOnNodes(tried int) string { return "failed on " + nodesCount(tried) }

func failedOnEveryNode(tried int) string {
	return "failed on every node left to it (" + nodesCount(tried) + ")"
}

func nodesCount(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}

// trustReason is the Reason of a readmission on trust.
const trustReason = "no node was left for the jobs that remain, and the jobs that failed here may be at fault"

// readmit puts an evicted node whose connection was kept back in the
// pool, with a token per free slot, and says why.
func (p *pool) readmit(n *node, job jobs.Job, reason string) {
	n.suspects, n.guilty, n.lost = nil, false, false
	if p.draining || n.closed || n.host == nil || (p.cfg.MaxNodeUses > 0 && n.uses >= p.cfg.MaxNodeUses) {
		p.closeIfOut(n)
		return
	}
	n.state = nodeUp
	p.removeTokens(n)
	for range n.free {
		p.tokens = append(p.tokens, n)
	}
	p.unevict(n)
	p.readmitted = true
	p.emit(Event{Kind: NodeReadmitted, Node: n.Name, Job: job, Reason: reason})
}

// unevict takes n off the Report's list of evicted nodes: it is back.
func (p *pool) unevict(n *node) {
	p.rep.Evicted = slices.DeleteFunc(p.rep.Evicted, func(f NodeFailure) bool { return f.Node == n.Name })
}

// closeIfOut closes the connection of a node that is out of the pool,
// runs nothing and waits for no verdict.
func (p *pool) closeIfOut(n *node) {
	if n.state != nodeUp && n.running == 0 && !p.awaiting(n) {
		p.closeHost(n)
	}
}

// unstick readmits on trust the nodes awaiting a verdict when the run
// could otherwise only end with jobs left: nothing runs or connects, and
// no job can start. It reports whether it readmitted any.
func (p *pool) unstick() bool {
	if !p.judging() || p.draining || p.running > 0 {
		return false
	}
	if p.streamEnded && len(p.retry) == 0 {
		return false
	}
	if !p.streamEnded && p.wantNew() {
		return false // a job from the stream starts now
	}
	var waiting []*node
	for _, n := range p.nodes {
		if n.state == nodeDialing {
			return false
		}
		if p.awaiting(n) {
			waiting = append(waiting, n)
		}
	}
	for _, n := range waiting {
		p.readmit(n, jobs.Job{}, trustReason)
	}
	return p.readmitted
}
