package runner

import (
	"io"
	"time"

	"github.com/drove-dev/drove/jobs"
)

// How nodes enter the pool: dialled at start, on a node-list change or
// for a readmission probe, then joined slot by slot.

// startDials dials every node of the list given at start.
func (p *pool) startDials() {
	for _, n := range p.nodes {
		p.dialNode(n, 0, false)
	}
}

// dialNode connects n in a goroutine of its own, after wait; the result
// comes back on p.dials. Every node dials at once, whatever its place in
// the list: a node that connects gets work at once, whatever is still
// connecting, and a pending connect costs only a socket (Connect bounds
// its own costly part, e.g. nodes.Dialer's handshakes in progress). A
// probe also runs "true" on the node. Dials still under way when Run ends
// are cancelled.
func (p *pool) dialNode(n *node, wait time.Duration, probe bool) {
	go func() {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-p.quit:
				t.Stop()
				return
			}
		}
		h, err := n.Connect(p.dialCtx)
		if err == nil && probe {
			if err = h.Run(p.dialCtx, "true", io.Discard, io.Discard); err != nil {
				_ = h.Close()
				h = nil
			}
		}
		select {
		case p.dials <- dialResult{n: n, host: h, err: err, probe: probe}:
		case <-p.quit:
			if err == nil && h != nil {
				_ = h.Close()
			}
		}
	}()
}

func (p *pool) dialed(d dialResult) {
	n := d.n
	if d.probe {
		p.probed(d)
		return
	}
	if d.err != nil {
		n.state = nodeGone
		p.rep.Refused = append(p.rep.Refused, NodeFailure{Node: n.Name, Err: d.err})
		p.emit(Event{Kind: NodeRefused, Node: n.Name, Err: d.err})
		return
	}
	kind := NodeUp
	if n.joining {
		kind = NodeJoined
	}
	p.join(n, d.host, kind)
}

// join puts a connected node's slots into the pool.
func (p *pool) join(n *node, h Host, kind EventKind) {
	n.host, n.closed = h, false
	if p.draining || n.leaving {
		n.state = nodeGone
		p.closeHost(n)
		return
	}
	n.state = nodeUp
	n.free = n.free[:0]
	for s := n.Slots - 1; s >= 0; s-- {
		n.free = append(n.free, s)
	}
	// Tokens left from before an eviction would be usable again: the queue
	// must hold exactly one token per free slot.
	p.removeTokens(n)
	if p.cfg.EachNode != "" {
		p.emit(Event{Kind: kind, Node: n.Name})
		js := &jobState{job: jobs.Job{Seq: n.seq, Cmd: p.cfg.EachNode, Origin: "on each node"}, pin: n}
		p.start(js, n)
		return
	}
	for range n.Slots {
		p.tokens = append(p.tokens, n)
	}
	p.emit(Event{Kind: kind, Node: n.Name})
}
