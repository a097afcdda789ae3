package runner

import "fmt"

// updateNodes applies a new node list: nodes not seen before are dialled
// and join the pool; listed nodes that are no longer listed stop taking
// jobs, finish the ones they run, and leave; a changed slot count applies
// as slots come free. Evicted nodes that are still listed stay evicted.
func (p *pool) updateNodes(ns []Node) {
	want := map[string]Node{}
	for _, n := range ns {
		if n.Slots < 1 {
			n.Slots = 1
		}
		want[n.Name] = n
	}
	for name, n := range p.byName {
		if _, ok := want[name]; ok || n.leaving {
			continue
		}
		n.leaving = true
		p.emit(Event{Kind: NodeLeaving, Node: name})
		switch {
		case n.state == nodeUp && n.running == 0:
			n.state = nodeGone
			p.closeHost(n)
			p.emit(Event{Kind: NodeLeft, Node: name})
		case n.state == nodeProbing:
			n.state = nodeGone
		}
		p.closeIfOut(n) // an evicted node kept for a verdict goes now
		delete(p.byName, name)
	}
	for _, w := range ns {
		w := want[w.Name]
		n, ok := p.byName[w.Name]
		if !ok {
			nd := &node{Node: w, seq: len(p.nodes) + 1, joining: true}
			p.nodes = append(p.nodes, nd)
			p.byName[w.Name] = nd
			p.dialNode(nd, 0, false)
			continue
		}
		if w.Slots != n.Slots {
			p.resize(n, w.Slots)
		}
	}
}

// resize changes a node's slot count: new slots join at once, removed ones
// leave as they come free.
// An evicted node's free slots change too: a node readmitted for a job at
// fault (blame.go) takes its tokens from them.
func (p *pool) resize(n *node, slots int) {
	old := n.Slots
	n.Slots = slots
	p.emit(Event{Kind: NodeResized, Node: n.Name, Slot: slots, Reason: fmt.Sprintf("%d slots, was %d", slots, old)})
	up := n.state == nodeUp
	if slots > old {
		for s := old; s < slots; s++ {
			n.free = append(n.free, s)
			if up {
				p.tokens = append(p.tokens, n)
			}
		}
		return
	}
	kept := n.free[:0]
	for _, s := range n.free {
		if s < slots {
			kept = append(kept, s)
		}
	}
	n.free = kept
	if !up {
		return
	}
	// One token per free slot left.
	p.removeTokens(n)
	for range n.free {
		p.tokens = append(p.tokens, n)
	}
}

// scheduleProbe arranges the next readmission probe of an evicted node, if
// --readmit-after is on and it has probes left.
func (p *pool) scheduleProbe(n *node) {
	max := p.cfg.MaxReadmits
	if max <= 0 {
		max = 3
	}
	if p.cfg.ReadmitAfter <= 0 || n.probes >= max || n.leaving || p.cfg.EachNode != "" {
		return
	}
	wait := p.cfg.ReadmitAfter << n.probes
	n.probes++
	n.state = nodeProbing
	p.dialNode(n, wait, true)
}

// probed handles a readmission probe's result.
func (p *pool) probed(d dialResult) {
	n := d.n
	if n.state != nodeProbing {
		if d.host != nil {
			_ = d.host.Close()
		}
		return
	}
	if d.err != nil {
		n.state = nodeGone
		n.lost = true
		p.closeIfOut(n)
		p.emit(Event{Kind: NodeProbeFailed, Node: n.Name, Err: fmt.Errorf("readmission probe %d: %w", n.probes, d.err)})
		p.scheduleProbe(n)
		return
	}
	if n.running > 0 {
		// Jobs still run on the old connection: readmit once they are done.
		_ = d.host.Close()
		n.probes--
		p.scheduleProbe(n)
		return
	}
	p.closeHost(n)
	n.suspects, n.guilty, n.lost = nil, false, false
	p.unevict(n)
	p.join(n, d.host, NodeReadmitted)
}
