package runner

// Which free slot takes which job: slot tokens in a queue, and requeued
// jobs placed on nodes they have not failed on.

// dropStaleTokens drops tokens of nodes that can take no job from the
// front of the queue, so that a token at the front means a job can start
// now. Stale tokens further back are skipped by takeToken and dropped when
// they reach the front: each is looked at once, not on every loop.
func (p *pool) dropStaleTokens() {
	i := 0
	for i < len(p.tokens) && !p.usable(p.tokens[i]) {
		i++
	}
	if i > 0 {
		clear(p.tokens[:i])
		p.tokens = p.tokens[i:]
	}
}

// takeToken removes and returns the first free slot whose node is allowed
// (ok == nil allows any), or nil.
func (p *pool) takeToken(ok func(*node) bool) *node {
	for i, n := range p.tokens {
		if !p.usable(n) {
			continue
		}
		if ok != nil && !ok(n) {
			continue
		}
		copy(p.tokens[i:], p.tokens[i+1:])
		p.tokens[len(p.tokens)-1] = nil
		p.tokens = p.tokens[:len(p.tokens)-1]
		return n
	}
	return nil
}

// dispatchRetries starts requeued jobs on nodes they have not failed on
// (or, failed by their own fault, on nodes they failed on when no other is
// left), and fails those no remaining node could take.
func (p *pool) dispatchRetries() {
	if len(p.retry) == 0 {
		return
	}
	kept := p.retry[:0]
	for _, js := range p.retry {
		if p.draining {
			kept = append(kept, js)
			continue
		}
		if !p.couldRun(js, false) {
			p.fail(js, "no node it has not failed on is left")
			p.judge(js, true, failedOnEveryNode)
			continue
		}
		if p.capacity() {
			n := p.takeToken(func(n *node) bool { return !js.tried[n] && !js.faulted[n] })
			if n == nil && !p.couldRun(js, true) {
				// Only nodes where it failed by its own fault are left:
				// it goes back to one.
				n = p.takeToken(func(n *node) bool { return !js.tried[n] })
			}
			if n != nil {
				p.start(js, n)
				continue
			}
		}
		kept = append(kept, js)
	}
	clear(p.retry[len(kept):])
	p.retry = kept
}

// couldRun reports whether some node that is or may come back in the
// pool could take js: one it has not failed on by a failure blamed on the
// node, or with fresh, one it has not failed on at all.
func (p *pool) couldRun(js *jobState, fresh bool) bool {
	for _, n := range p.nodes {
		if (n.state == nodeDialing || n.state == nodeProbing || p.usable(n) || p.awaiting(n)) && !js.tried[n] && !(fresh && js.faulted[n]) {
			return true
		}
	}
	return false
}
