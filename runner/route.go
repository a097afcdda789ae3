package runner

import "errors"

// RouteError is a failure of the way to a node (a gateway the node is
// reached through, lost), not of the node nor of the job. A Host returns
// it wrapped in a *NodeError, and only when its next Run reaches the node
// another way (or, with no way left, fails with a plain *NodeError). The
// scheduler requeues the attempt's job as after any *NodeError, counting
// the attempt against MaxAttempts, but keeps the node in the pool instead
// of evicting it: the next job there takes the new route at once, and
// --readmit-after has nothing to wait for.
//
// The Host bounds the reroutes: each RouteError must move it to a route it
// has not used yet, so a node whose every route fails ends evicted, by the
// plain *NodeError that names them.
type RouteError struct{ Err error }

func (e *RouteError) Error() string { return e.Err.Error() }
func (e *RouteError) Unwrap() error { return e.Err }

// rerouted reports whether err is a node's failure that a RouteError says
// is its route's.
func rerouted(err error) bool {
	var re *RouteError
	return errors.As(err, &re)
}

// rerunPinned runs an EachNode job whose route failed (ev, a RouteError)
// again on its node, which takes its next route, unless the run is
// stopping or the job has had its MaxAttempts. It reports whether it did.
func (p *pool) rerunPinned(js *jobState, n *node, ev Event, freed bool) bool {
	if !rerouted(ev.Err) || !freed || p.draining || p.ctx.Err() != nil ||
		(p.cfg.MaxAttempts > 0 && len(js.attempts) >= p.cfg.MaxAttempts) {
		return false
	}
	ev.Requeued = true
	p.emit(ev)
	p.start(js, n)
	return true
}
