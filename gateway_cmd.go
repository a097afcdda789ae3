package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drove-dev/drove/gateway"
	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/internal/keepalive"
	"github.com/drove-dev/drove/nodes"
	"github.com/drove-dev/drove/runner"
	"golang.org/x/crypto/ssh"
)

// GatewayCmd is "drove gateway", which a controller starts on a gateway
// over SSH (see package gateway); not for users.
type GatewayCmd struct {
	Ready string `required:"" placeholder:"NONCE" help:"Say 'drove-gateway-ready NONCE' on stdout, then speak the gateway protocol on stdin and stdout."`
}

// Run serves one controller until its session ends, then ends the
// gateways it started for routes of two levels (each kills what it runs).
func (g *GatewayCmd) Run(ctx context.Context, e *env) error {
	if _, err := fmt.Fprintln(e.stdout, gateway.ReadyLine(g.Ready)); err != nil {
		return err
	}
	up := &gatewayUpstream{e: e}
	defer up.close()
	return gateway.ServeStreams(ctx, e.stdin, e.stdout, gatewayConnector(up), gatewayOpener(up))
}

// gatewayUpstream is what a gateway reaches its nodes with, made at the
// first request from the controller's options: the dialer (this
// machine's ssh_config, or the one the controller names, known_hosts and
// agent) and, for routes of two levels, this gateway's own gateways,
// shared by the nodes' jobs and streams.
type gatewayUpstream struct {
	e    *env
	mu   sync.Mutex
	fl   *fleetFlags
	d    *nodes.Dialer
	via  *routedGateways
	err  error
	verr error
}

// reach is the dialer and, when route is not empty, the gateways for it,
// made with options o the first time.
func (u *gatewayUpstream) reach(route [][]string, o gateway.Options) (*fleetFlags, *nodes.Dialer, *routedGateways, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fl == nil {
		u.fl = &fleetFlags{SSHConfig: o.SSHConfig, AcceptNew: o.AcceptNew, ConnTimeout: time.Duration(o.ConnectTimeout),
			Keepalive: time.Duration(o.Keepalive), Grace: time.Duration(o.Grace), MaxHandshakes: o.MaxHandshakes}
		u.d, u.err = u.fl.dialer(u.e)
	}
	if u.err != nil {
		return nil, nil, nil, u.err
	}
	if len(route) == 0 {
		return u.fl, u.d, nil, nil
	}
	if u.via == nil && u.verr == nil {
		u.via, u.verr = newRoutedGateways(u.e, u.d, "", o)
	}
	if u.via == nil {
		return nil, nil, nil, u.verr
	}
	return u.fl, u.d, u.via, nil
}

// close ends the gateways it started (each kills what it runs).
func (u *gatewayUpstream) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.via != nil {
		u.via.close()
	}
}

// gatewayConnector reaches the nodes a controller hands this gateway as
// "drove run" reaches its own, with up: directly, or through this
// gateway's own gateways when the node's route names some below it
// (started as the controller started this one: its own binary, by hash,
// with the controller's options).
func gatewayConnector(up *gatewayUpstream) gateway.Connector {
	return func(ctx context.Context, spec string, route [][]string, o gateway.Options) (runner.Host, error) {
		sp, err := hostlist.ParseSpec(spec)
		if err != nil {
			return nil, err
		}
		fl, d, via, err := up.reach(route, o)
		if err != nil {
			return nil, err
		}
		if via != nil {
			return via.connect(ctx, sp.Key(), sp, route)
		}
		return fl.poolNodes([]hostlist.Spec{sp}, d)[0].Connect(ctx)
	}
}

// gatewayPool is the controller's gateways (--gateway): each node that is
// not ':' goes through the first gateway of its own order that works
// (rendezvous hashing, gateway_reroute.go), so a node keeps its gateway when
// node files are re-read, and a lost gateway's nodes, and only they, move
// to their next one. A gateway is started at its first node's connect; one
// that failed to start or was lost is not tried again in the run.
type gatewayPool struct {
	e       *env
	d       *nodes.Dialer
	binary  string
	opts    gateway.Options
	gws     []*gatewayConn
	sum     func() (string, error) // binary's SHA-256, computed once for all gateways
	closing atomic.Bool            // close was called: a gateway's end is no loss
}

type gatewayConn struct {
	spec   hostlist.Spec
	weight uint64 // the hash of its name, for the rendezvous
	once   sync.Once
	cl     *gateway.Client
	conn   *ssh.Client
	err    error
}

// newBasePool is a pool with no gateways yet: what starting a gateway
// needs (the dialer, the binary to send, hashed once for all gateways,
// and the options). binary "" is this drove's own.
func newBasePool(e *env, d *nodes.Dialer, binary string, opts gateway.Options) (*gatewayPool, error) {
	if binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		binary = exe
	}
	return &gatewayPool{e: e, d: d, binary: binary, opts: opts,
		sum: sync.OnceValues(func() (string, error) { return gateway.SumFile(binary) })}, nil
}

func newGatewayPool(e *env, d *nodes.Dialer, specs []hostlist.Spec, binary string, opts gateway.Options) (*gatewayPool, error) {
	p, err := newBasePool(e, d, binary, opts)
	if err != nil {
		return nil, usageErrorf("--gateway: cannot find this drove's binary to send (give --gateway-binary): %v", err)
	}
	for _, sp := range hostlist.Merge(specs) {
		if sp.Local() {
			return nil, usageErrorf("--gateway: ':' (this machine) cannot be a gateway")
		}
		p.gws = append(p.gws, &gatewayConn{spec: sp, weight: routeHash(sp.Key())})
	}
	return p, nil
}

// ready starts g if it was not started yet (with ctx's values but not its
// end: the start is bounded by its own timeouts, and other nodes wait on
// it), and says why g cannot carry a node now (nil when it can).
func (p *gatewayPool) ready(ctx context.Context, g *gatewayConn) error {
	g.once.Do(func() { g.err = p.start(context.WithoutCancel(ctx), g) })
	if g.err != nil {
		return g.err
	}
	select {
	case <-g.cl.Done():
		return g.cl.Err()
	default:
		return nil
	}
}

// connect connects node sp through its first working gateway, or, when
// none is left, directly (see gateway_reroute.go).
func (p *gatewayPool) connect(ctx context.Context, name string, sp hostlist.Spec, direct func(context.Context) (runner.Host, error)) (runner.Host, error) {
	r := &routedHost{pool: p, name: name, spec: sp, routes: p.order(sp.Key()), direct: direct}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.connectLocked(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// start dials the gateway, and starts drove there.
func (p *gatewayPool) start(ctx context.Context, g *gatewayConn) error {
	name := g.spec.Key()
	t, err := p.d.Resolve(g.spec)
	if err != nil {
		return fmt.Errorf("gateway %s: %w", name, err)
	}
	conn, err := p.d.Dial(ctx, t)
	if err != nil {
		return fmt.Errorf("gateway %s: %w", name, err)
	}
	sum, err := p.sum()
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("gateway %s: %w", name, err)
	}
	// The heartbeat has the keepalives' window: a gateway that says
	// nothing for as long as its sshd may is lost.
	interval := t.ServerAliveInterval
	if p.opts.Keepalive > 0 {
		interval = time.Duration(p.opts.Keepalive)
	}
	o := p.opts
	o.Heartbeat, o.HeartbeatMisses = int64(interval), t.ServerAliveCountMax
	cl, err := gateway.Start(ctx, conn, gateway.StartOptions{Name: name, Binary: p.binary, BinarySum: sum, Options: o,
		Serve:  func(nonce string) string { return "gateway --ready " + nonce },
		Stderr: runner.NewOutput(p.e.stderr).Writer("drove: gateway " + name + ": "), Timeout: max(t.ConnectTimeout, 30*time.Second)})
	if err != nil {
		_ = conn.Close()
		return err
	}
	if interval > 0 {
		go keepalive.Watch(conn, cl.Done(), interval, t.ServerAliveCountMax, func(err error) {
			cl.Abandon(fmt.Errorf("its SSH connection is dead: %w", err))
			_ = conn.Close()
		})
	}
	g.cl, g.conn = cl, conn
	go func() {
		<-cl.Done()
		_ = conn.Close()
		if !p.closing.Load() {
			fmt.Fprintf(p.e.stderr, "drove: %v: its nodes take their next route\n", cl.Err())
		}
	}()
	return nil
}

// close ends every gateway's conversation: each kills what it still runs
// and exits.
func (p *gatewayPool) close() {
	p.closing.Store(true)
	for _, g := range p.gws {
		if g.cl != nil {
			_ = g.cl.Close()
		}
		if g.conn != nil {
			_ = g.conn.Close()
		}
	}
}
