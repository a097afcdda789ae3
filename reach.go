package main

import "github.com/drove-dev/drove/nodes"

// fleetReach is how a command reaches its nodes: its dialer, and the
// routes of --topology or the gateways of --gateway (nil without the
// flag).
type fleetReach struct {
	dialer *nodes.Dialer
	routes *topologyRoutes
	gw     *gatewayPool
}

// reach makes fl's dialer and, as g says, the topology's routes or the
// gateways, which send --gather's blocks by hash when blocks is set. The
// caller closes what it returns when the run ends; on an error, what was
// made is closed.
func (g *gatewayFlags) reach(e *env, fl *fleetFlags, blocks bool) (*fleetReach, error) {
	d, err := fl.dialer(e)
	if err != nil {
		return nil, err
	}
	r := &fleetReach{dialer: d}
	if r.routes, err = g.useTopology(e, fl, d); err != nil {
		r.close()
		return nil, err
	}
	if r.routes != nil {
		r.routes.via.p.opts.Blocks = blocks // identical output crosses once per first-level gateway
	}
	if r.gw, err = g.useGateways(e, fl, d); err != nil {
		r.close()
		return nil, err
	}
	if r.gw != nil {
		r.gw.opts.Blocks = blocks // identical output crosses once per gateway
	}
	return r, nil
}

// close ends the gateways (each kills what it still runs and exits), then
// the dialer's connections.
func (r *fleetReach) close() {
	if r.gw != nil {
		r.gw.close()
	}
	if r.routes != nil {
		r.routes.close()
	}
	_ = r.dialer.Close()
}
