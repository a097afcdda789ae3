package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/nodes"
	"github.com/drove-dev/drove/runner"
	"golang.org/x/crypto/ssh"
)

// fleetFlags choose the nodes, how they are reached and how failures are
// handled. They are shared by every command that runs work on nodes (run,
// sync) and mean the same in each.
type fleetFlags struct {
	Node     []string `short:"n" sep:"none" placeholder:"SPEC" help:"A node: [K/][user@]host[:port]. K/ gives it K slots; a host listed twice gets two. ':' is this machine (sh -c, no SSH). Host ranges and comma lists as pdsh and Slurm write them: 'node[01-64]', '4/gpu[1-4,7]', \"$SLURM_JOB_NODELIST\". Repeatable."`
	NodeFile []string `short:"N" sep:"none" placeholder:"FILE" help:"File of nodes, one SPEC (or range, or comma list) per line; blank lines and # comments skipped; '-' is stdin. A regular file is re-read when it changes and on SIGHUP (nodes join and leave); stdin, pipes and <(...) are read once. Repeatable."`

	Verbose int `short:"v" type:"counter" help:"More detail at the end; -vv lists every job that never ran."`

	MaxNodes    int           `short:"m" placeholder:"N" help:"Run at most N jobs at once, whatever the slots (0 = no limit)."`
	MaxAttempts int           `default:"3" placeholder:"N" help:"Fail a job once it has failed on N distinct nodes; such a job is at fault, and the nodes it evicted come back (0 = never fail it: clstr's behaviour, which lets one bad job drain the fleet). Default: ${default}."`
	OnFailure   string        `enum:"evict,retry,keep" default:"evict" help:"What a job's non-zero exit does: evict (the node is presumed broken and leaves; the job runs elsewhere), retry (node stays; job runs elsewhere), keep (node stays; job failed). A lost connection always evicts."`
	Timeout     time.Duration `placeholder:"DURATION" help:"Kill a job on its node after DURATION (seconds, or 90s, 2h) and count it failed. Default: no limit."`

	SSHConfig   string        `short:"F" name:"ssh-config" placeholder:"FILE" help:"ssh_config to use instead of ~/.ssh/config and /etc/ssh/ssh_config ('none' for none)."`
	AcceptNew   bool          `name:"accept-new-host-keys" help:"Accept and record host keys of hosts not yet in known_hosts (StrictHostKeyChecking accept-new). A changed key is always refused."`
	Jump        string        `placeholder:"HOST" help:"Reach every node through this SSH host (ProxyJump), unless ssh_config names another."`
	ConnTimeout time.Duration `name:"connect-timeout" placeholder:"DURATION" help:"Give up connecting to a node (TCP, SSH handshake and login) after DURATION when ssh_config sets no ConnectTimeout (default 10s)."`
	Keepalive   time.Duration `placeholder:"DURATION" help:"Interval of SSH keepalives, overriding ssh_config ServerAliveInterval (default 5s); a node that misses ServerAliveCountMax (default 3) in a row is evicted as hung."`
	Grace       time.Duration `default:"5s" placeholder:"DURATION" help:"How long a killed job (timeout, second Ctrl-C) gets between TERM and KILL. Default: ${default}."`

	ReadmitAfter time.Duration `placeholder:"DURATION" help:"Probe an evicted node after DURATION (a new connection and 'true') and readmit it if it passes; up to 3 probes, each waiting twice as long. Off by default (clstr evicts for good)."`

	MaxHandshakes int `placeholder:"N" help:"SSH handshakes (key exchange and login, where a connection costs CPU) in progress at once, on this machine and on each gateway; nodes still to dial wait their turn without counting against --connect-timeout (default 128)."`

	excluded []hostlist.Spec  // nodes left out of every list (run's -x), not a flag
	gw       *gatewayPool     // --gateway: nodes are reached through these, not a flag
	routes   *topologyRoutes  // --topology: nodes with a route are reached along it, not a flag
	groups   *hostlist.Groups // ClusterShell's node groups, read at the first @group
}

// nodeGroups is the resolver of "@group" in node specs, over the group
// files env names (read only when a spec names a group).
func (c *fleetFlags) nodeGroups(e *env) *hostlist.Groups {
	if c.groups == nil {
		c.groups = hostlist.NewGroups(e.groups)
	}
	return c.groups
}

// clusterShellGroups finds ClusterShell's group files as ClusterShell
// does: groups.conf and groups.d/*.yaml in /etc/clustershell,
// ~/.local/etc/clustershell, $XDG_CONFIG_HOME/clustershell (or
// ~/.config/clustershell) and $CLUSTERSHELL_CFGDIR, in that order.
func clusterShellGroups(getenv func(string) string, home func() (string, error)) hostlist.GroupFiles {
	dirs := []string{"/etc/clustershell"}
	h, err := home()
	if err != nil {
		h = ""
	}
	if h != "" {
		dirs = append(dirs, filepath.Join(h, ".local", "etc", "clustershell"))
	}
	if x := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		dirs = append(dirs, filepath.Join(x, "clustershell"))
	} else if h != "" {
		dirs = append(dirs, filepath.Join(h, ".config", "clustershell"))
	}
	if d := getenv("CLUSTERSHELL_CFGDIR"); d != "" {
		dirs = append(dirs, d)
	}
	var f hostlist.GroupFiles
	for _, d := range dirs {
		f.Confs = append(f.Confs, filepath.Join(d, "groups.conf"))
		f.Dirs = append(f.Dirs, filepath.Join(d, "groups.d"))
	}
	return f
}

func (c *fleetFlags) validate() error {
	if len(c.Node) == 0 && len(c.NodeFile) == 0 {
		return usageErrorf("no nodes: give --node SPEC or --node-file FILE")
	}
	if c.MaxNodes < 0 || c.MaxAttempts < 0 || c.MaxHandshakes < 0 {
		return usageErrorf("--max-nodes, --max-attempts and --max-handshakes must not be negative")
	}
	if c.Timeout < 0 || c.Grace < 0 || c.ConnTimeout < 0 || c.Keepalive < 0 || c.ReadmitAfter < 0 {
		return usageErrorf("durations must not be negative")
	}
	return nil
}

func (c *fleetFlags) onFailure() runner.OnFailure {
	switch c.OnFailure {
	case "retry":
		return runner.Retry
	case "keep":
		return runner.Keep
	}
	return runner.Evict
}

// readNodes parses -n and -N into merged specs: a host listed twice gets
// two slots. fixed is the part a node watcher cannot read again: the -n
// specs and the nodes of files that are not regular (stdin, pipes).
func (c *fleetFlags) readNodes(e *env) (specs, fixed []hostlist.Spec, err error) {
	groups := c.nodeGroups(e)
	for _, s := range c.Node {
		sp, err := groups.ParseList(s)
		if err != nil {
			return nil, nil, usageErrorf("--node: %v", err)
		}
		specs = append(specs, sp...)
	}
	fixed = append(fixed, specs...)
	for _, f := range c.NodeFile {
		r, name, closeFn, err := openInput(f, e)
		if err != nil {
			return nil, nil, usageErrorf("--node-file: %v", err)
		}
		ss, err := groups.ParseFile(r, name)
		closeFn()
		if err != nil {
			return nil, nil, usageErrorf("%v", err)
		}
		specs = append(specs, ss...)
		if !hostlist.IsRegular(f) {
			fixed = append(fixed, ss...)
		}
	}
	if len(specs) == 0 {
		return nil, nil, usageErrorf("no nodes: the node lists and files name none")
	}
	if specs = hostlist.Exclude(specs, c.excluded); len(specs) == 0 {
		return nil, nil, usageErrorf("no nodes: --exclude leaves out every node listed")
	}
	return hostlist.Merge(specs), hostlist.Exclude(fixed, c.excluded), nil
}

func (c *fleetFlags) dialer(e *env) (*nodes.Dialer, error) {
	opts := nodes.Options{
		ConfigFile:     c.SSHConfig,
		ConnectTimeout: c.ConnTimeout,
		MaxHandshakes:  c.MaxHandshakes,
		Jump:           c.Jump,
		ProxyStderr:    e.stderr,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(e.stderr, "drove: "+strings.TrimSuffix(format, "\n")+"\n", args...)
		},
	}
	if c.AcceptNew {
		opts.StrictHostKeyChecking = "accept-new"
	}
	d, err := nodes.NewDialer(opts)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return d, nil
}

// localNodeName is the name ':' runs under in messages and records.
const localNodeName = "local"

// poolNodes turns specs into runner nodes: ':' runs locally, anything else
// is resolved through ssh_config and dialled when the run starts.
func (c *fleetFlags) poolNodes(specs []hostlist.Spec, d *nodes.Dialer) []runner.Node {
	var out []runner.Node
	for _, sp := range specs {
		name := sp.Key()
		if sp.Local() {
			name = localNodeName
			grace := c.Grace
			out = append(out, runner.Node{Name: name, Slots: sp.Slots, Connect: func(context.Context) (runner.Host, error) {
				return &runner.Local{Grace: grace}, nil
			}})
			continue
		}
		if c.gw != nil {
			gw := c.gw
			out = append(out, runner.Node{Name: name, Slots: sp.Slots, Connect: func(ctx context.Context) (runner.Host, error) {
				return gw.connect(ctx, name, sp)
			}})
			continue
		}
		if n, ok := c.routes.node(name, sp); ok {
			out = append(out, n)
			continue
		}
		out = append(out, runner.Node{Name: name, Slots: sp.Slots, Connect: func(ctx context.Context) (runner.Host, error) {
			t, err := d.Resolve(sp)
			if err != nil {
				return nil, err
			}
			opts := runner.SSHOptions{
				KeepaliveInterval: t.ServerAliveInterval,
				KeepaliveCountMax: t.ServerAliveCountMax,
				Grace:             c.Grace,
				ReadyTimeout:      t.ConnectTimeout,
			}
			if c.Keepalive > 0 {
				opts.KeepaliveInterval = c.Keepalive
			}
			h, err := runner.NewSSH(ctx, name, func(ctx context.Context) (*ssh.Client, error) {
				return d.Dial(ctx, t)
			}, opts)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return h, nil
		}})
	}
	return out
}

// nodeUpdates feeds runner.Config.NodeUpdates from a node watcher: only
// the newest list matters, so a list not yet taken is replaced.
type nodeUpdates struct {
	*hostlist.Watcher
	out chan []runner.Node
}

// watchNodes watches the regular node files (re-read when they change and
// on SIGHUP), or returns nil when there are none.
func (c *fleetFlags) watchNodes(e *env, specs, fixed []hostlist.Spec, d *nodes.Dialer) *nodeUpdates {
	u := &nodeUpdates{out: make(chan []runner.Node, 1)}
	u.Watcher = &hostlist.Watcher{
		Fixed: fixed, Files: c.NodeFile, Reload: e.hup, Groups: c.nodeGroups(e),
		Logf: func(format string, args ...any) { fmt.Fprintf(e.stderr, "drove: "+format+"\n", args...) },
		Changed: func(ss []hostlist.Spec) {
			select {
			case <-u.out:
			default:
			}
			u.out <- c.poolNodes(hostlist.Exclude(ss, c.excluded), d)
		},
	}
	if !u.Start(specs) {
		return nil
	}
	return u
}

// nodeHint adds the flag that helps with a node's error, for the views.
func nodeHint(err error) string {
	var hk *nodes.HostKeyError
	if errors.As(err, &hk) && hk.NewHost() {
		return "or run with --accept-new-host-keys"
	}
	return ""
}
