package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/drove-dev/drove/filecopy"
	"github.com/drove-dev/drove/gateway"
	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/nodes"
)

// drove copy through gateways: a node behind a gateway is copied over a
// stream (gateway/stream.go) that its gateway relays to the node's sftp
// subsystem, opened by the gateway over an SSH connection of its own to
// the node; filecopy speaks SFTP over that stream as over a direct
// connection.

// copySubsystem is what a copy opens on a node.
const copySubsystem = "sftp"

// routeCopyNode makes n, the copy node of sp, reach sp through the
// gateways of fl (--gateway or --topology), when they carry it, its copy
// redone through its next route when its gateway is lost mid-copy
// (copy_redo.go; said on stderr); false leaves n as it is (reached
// directly).
func routeCopyNode(fl *fleetFlags, d *nodes.Dialer, sp hostlist.Spec, n *filecopy.Node, stderr io.Writer) bool {
	if !routeCopyStream(fl, d, sp, n) {
		return false
	}
	routeRedo(n, stderr)
	return true
}

// routeCopyStream makes n, the copy node of sp, open its stream through
// the gateways of fl, when they carry it.
func routeCopyStream(fl *fleetFlags, d *nodes.Dialer, sp hostlist.Spec, n *filecopy.Node) bool {
	name := n.Name
	direct := func(ctx context.Context) (io.ReadWriteCloser, error) {
		return dialSubsystem(ctx, d, sp, copySubsystem, fl.Keepalive)
	}
	switch {
	case fl.gw != nil:
		gw := fl.gw
		n.Dial, n.Open = nil, func(ctx context.Context) (io.ReadWriteCloser, error) {
			return gw.openStream(ctx, name, sp, copySubsystem, direct)
		}
		return true
	case fl.routes != nil:
		route := fl.routes.tree.Route(sp.Host)
		if len(route) == 0 {
			return false
		}
		via := fl.routes.via
		n.Dial, n.Open = nil, func(ctx context.Context) (io.ReadWriteCloser, error) {
			return via.openStream(ctx, name, sp, route, copySubsystem)
		}
		return true
	}
	return false
}

// dialSubsystem connects to the node of sp through this machine's
// ssh_config (as drove's other commands do) and starts subsystem on that
// connection, watched by its keepalives (keepalive, when positive,
// overrides ssh_config's interval).
func dialSubsystem(ctx context.Context, d *nodes.Dialer, sp hostlist.Spec, subsystem string, keepalive time.Duration) (io.ReadWriteCloser, error) {
	t, err := d.Resolve(sp)
	if err != nil {
		return nil, err
	}
	conn, err := d.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	ka := gateway.Keepalive{Interval: t.ServerAliveInterval, CountMax: t.ServerAliveCountMax}
	if keepalive > 0 {
		ka.Interval = keepalive
	}
	return gateway.OpenSubsystem(conn, subsystem, ka, max(t.ConnectTimeout, 30*time.Second))
}

// openStream opens subsystem on node sp (called name in messages) through
// its first working gateway, as connect connects it for jobs
// (gateway_reroute.go): a gateway that cannot carry it (lost, failed to
// start) is passed over, the node's own failure through a working gateway
// is returned as it is, and when no gateway is left the node is reached
// directly.
func (p *gatewayPool) openStream(ctx context.Context, name string, sp hostlist.Spec, subsystem string, direct func(context.Context) (io.ReadWriteCloser, error)) (io.ReadWriteCloser, error) {
	var why []string
	for _, g := range p.order(sp.Key()) {
		if err := p.ready(ctx, g); err != nil {
			why = append(why, err.Error())
			continue
		}
		s, err := g.cl.OpenStream(ctx, name, sp.Key(), nil, subsystem)
		if err != nil {
			if g.lost() {
				why = append(why, g.cl.Err().Error())
				continue
			}
			return nil, err
		}
		return s, nil
	}
	gone := "no gateway left (" + strings.Join(why, "; ") + ")"
	if direct == nil {
		return nil, errors.New(gone)
	}
	s, err := direct(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s; directly: %w", gone, err)
	}
	return s, nil
}

// openStream opens subsystem on node sp (called name in messages) along
// route, which is not empty: through the first gateway of route's first
// set, in sp's rendezvous order of them (as jobs take them), that starts
// and opens the stream, asked for it with the rest of the route. A set
// with no gateway left fails the node, as it fails a job's (not tried
// directly: see docs/gateways.md).
func (r *routedGateways) openStream(ctx context.Context, name string, sp hostlist.Spec, route [][]string, subsystem string) (io.ReadWriteCloser, error) {
	var why []string
	for _, g := range r.order(sp.Key(), route[0]) {
		g.once.Do(func() { g.err = r.p.start(context.WithoutCancel(ctx), g) })
		if g.err != nil {
			why = append(why, g.spec.Host+": "+g.err.Error())
			continue
		}
		s, err := g.cl.OpenStream(ctx, name, sp.Key(), route[1:], subsystem)
		if err != nil {
			why = append(why, g.spec.Host+": "+err.Error())
			continue
		}
		return s, nil
	}
	return nil, errors.New("no gateway left (" + strings.Join(why, "; ") + ")")
}

// gatewayOpener opens, on a gateway, the streams its controller asks for
// (drove copy's sftp), with up: on a node this gateway reaches itself,
// over a connection of its own made as gatewayConnector makes a node's;
// on a node further down, through this gateway's own gateway for the
// route.
func gatewayOpener(up *gatewayUpstream) gateway.Opener {
	return func(ctx context.Context, spec string, route [][]string, subsystem string, o gateway.Options) (io.ReadWriteCloser, error) {
		sp, err := hostlist.ParseSpec(spec)
		if err != nil {
			return nil, err
		}
		fl, d, via, err := up.reach(route, o)
		if err != nil {
			return nil, err
		}
		if via != nil {
			return via.openStream(ctx, sp.Key(), sp, route, subsystem)
		}
		return dialSubsystem(ctx, d, sp, subsystem, fl.Keepalive)
	}
}
