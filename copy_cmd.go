package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drove-dev/drove/filecopy"
	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/nodes"
	"golang.org/x/crypto/ssh"
)

// CopyCmd is "drove copy": pdcp's, clush --copy's and pscp's job, and with
// --reverse rpdcp's, clush --rcopy's and pslurp's (see package filecopy).
type CopyCmd struct {
	Paths []string `arg:"" name:"SRC... DEST" help:"Files or trees to copy, then where. Pushing: SRC are here, DEST is on every node (a directory if it exists as one, ends in '/' or several SRC are given; created as needed). With --reverse: SRC are on the nodes, DEST is a directory here that gets DEST/NODE/ per node."`

	Reverse   bool `short:"R" help:"Gather SRC from every node into DEST/NODE/ here (rpdcp, clush --rcopy, pslurp; 'drove rcopy' is the same)."`
	Fanout    int  `short:"f" default:"32" placeholder:"N" help:"Copy to or from at most N nodes at once (pdcp -f). Default: ${default}."`
	Recursive bool `short:"r" help:"Accepted for pdcp's habit: directories are always copied recursively."`
	Preserve  bool `short:"p" help:"Accepted for pdcp's and clush's habit: modes and mtimes are always kept."`
	Verbose   int  `short:"v" type:"counter" help:"Print one line per node that succeeded too (files, directories, links, bytes)."`

	Node        []string `short:"n" sep:"none" placeholder:"SPEC" help:"A node, as for 'drove run': [user@]host[:port], ranges 'node[01-64]', comma lists; ':' is this machine (no SSH). Repeatable."`
	NodeFile    []string `short:"N" sep:"none" placeholder:"FILE" help:"File of nodes, one SPEC per line, as for 'drove run'; '-' is stdin. Repeatable."`
	nodeChoice  `embed:""`
	SSHConfig   string        `short:"F" name:"ssh-config" placeholder:"FILE" help:"ssh_config to use instead of ~/.ssh/config and /etc/ssh/ssh_config ('none' for none)."`
	AcceptNew   bool          `name:"accept-new-host-keys" help:"Accept and record host keys of hosts not yet in known_hosts (StrictHostKeyChecking accept-new). A changed key is always refused."`
	Jump        string        `placeholder:"HOST" help:"Reach every node through this SSH host (ProxyJump), unless ssh_config names another."`
	ConnTimeout time.Duration `name:"connect-timeout" placeholder:"DURATION" help:"Give up connecting to a node after DURATION when ssh_config sets no ConnectTimeout (default 10s)."`
	Keepalive   time.Duration `placeholder:"DURATION" help:"Interval of SSH keepalives, overriding ssh_config ServerAliveInterval (default 5s); a node that misses ServerAliveCountMax (default 3) in a row fails."`

	gatewayFlags `embed:""`
}

// RcopyCmd is "drove rcopy": drove copy --reverse.
type RcopyCmd struct {
	CopyCmd `embed:""`
}

// Run gathers, as drove copy --reverse.
func (c *RcopyCmd) Run(ctx context.Context, e *env) error {
	c.Reverse = true
	return c.CopyCmd.Run(ctx, e)
}

// Run copies, prints every failure and a summary on stderr, and maps the
// outcome to drove's exit statuses: 0 every node got everything, 1 some
// node failed (unreachable, lost, or a path that failed), 2 bad input
// (nothing copied), 130 interrupted.
func (c *CopyCmd) Run(ctx context.Context, e *env) error {
	if len(c.Paths) < 2 {
		return usageErrorf("copy: give SRC... DEST (at least one source and a destination)")
	}
	if c.Fanout < 0 {
		return usageErrorf("copy: --fanout must not be negative")
	}
	if c.ConnTimeout < 0 || c.Keepalive < 0 {
		return usageErrorf("copy: durations must not be negative")
	}
	fl := fleetFlags{Node: c.Node, NodeFile: c.NodeFile, SSHConfig: c.SSHConfig, AcceptNew: c.AcceptNew, Jump: c.Jump, ConnTimeout: c.ConnTimeout, Keepalive: c.Keepalive}
	c.nodeChoice.addTo(&fl)
	if len(fl.Node) == 0 && len(fl.NodeFile) == 0 {
		return usageErrorf("copy: no nodes: give --node SPEC, -w SPEC, -g GROUP or --node-file FILE")
	}
	if err := c.nodeChoice.exclude(&fl, e); err != nil {
		return err
	}
	specs, _, err := fl.readNodes(e)
	if err != nil {
		return err
	}
	d, err := fl.dialer(e)
	if err != nil {
		return err
	}
	routes, err := c.useTopology(e, &fl, d)
	if err != nil {
		return err
	}
	if routes != nil {
		defer routes.close()
	}
	gw, err := c.useGateways(e, &fl, d)
	if err != nil {
		return err
	}
	if gw != nil {
		defer gw.close()
	}
	opts := filecopy.Options{
		Sources: c.Paths[:len(c.Paths)-1],
		Dest:    c.Paths[len(c.Paths)-1],
		Fanout:  c.Fanout,
		Drain:   e.drain,
		NodeDone: func(r filecopy.NodeResult) {
			for _, fe := range r.Errors {
				hint := ""
				if h := nodeHint(fe.Err); h != "" {
					hint = " (" + h + ")"
				}
				fmt.Fprintf(e.stderr, "drove: copy: %v%s\n", fe, hint)
			}
			if r.OK() && c.Verbose > 0 {
				fmt.Fprintf(e.stderr, "drove: copy: %s: %d files, %d directories, %d links, %d bytes\n", r.Node, r.Files, r.Dirs, r.Links, r.Bytes)
			}
		},
	}
	ns := copyNodes(specs, d, c.Keepalive)
	for i, sp := range specs {
		if !sp.Local() {
			routeCopyNode(&fl, d, sp, &ns[i], e.stderr)
		}
	}
	var sum filecopy.Summary
	if c.Reverse {
		sum, err = filecopy.Pull(ctx, ns, opts)
	} else {
		sum, err = filecopy.Push(ctx, ns, opts)
	}
	if ie, ok := errors.AsType[*filecopy.InputError](err); ok {
		return usageErrorf("copy: %v", ie)
	}
	if err != nil {
		return err
	}
	failed := sum.Failed()
	switch {
	case sum.Interrupted:
		fmt.Fprintf(e.stderr, "drove: copy: interrupted: %d of %d nodes done\n", len(sum.Nodes)-failed, len(sum.Nodes))
		return &exitError{code: exitInterrupted}
	case failed > 0:
		fmt.Fprintf(e.stderr, "drove: copy: %d of %d nodes failed\n", failed, len(sum.Nodes))
		return &exitError{code: exitFailed}
	}
	return nil
}

// copyNodes turns specs into filecopy nodes, one per host whatever its
// slots: ':' is this machine; anything else is resolved through ssh_config
// and dialled with d.
func copyNodes(specs []hostlist.Spec, d *nodes.Dialer, keepalive time.Duration) []filecopy.Node {
	out := make([]filecopy.Node, 0, len(specs))
	for _, sp := range specs {
		if sp.Local() {
			out = append(out, filecopy.Node{Name: localNodeName})
			continue
		}
		n := filecopy.Node{Name: sp.Key()}
		t, rerr := d.Resolve(sp)
		if rerr == nil {
			n.KeepaliveInterval, n.KeepaliveCountMax = t.ServerAliveInterval, t.ServerAliveCountMax
			if keepalive > 0 {
				n.KeepaliveInterval = keepalive
			}
		}
		n.Dial = func(ctx context.Context) (*ssh.Client, error) {
			if rerr != nil {
				return nil, rerr
			}
			return d.Dial(ctx, t)
		}
		out = append(out, n)
	}
	return out
}
