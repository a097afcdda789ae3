package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/nodes"
	"github.com/drove-dev/drove/runner"
	"golang.org/x/crypto/ssh"
)

// RunCmd is the default command: clstr's command line, made safe.
type RunCmd struct {
	Node       []string `short:"n" sep:"none" placeholder:"SPEC" help:"A node: [K/][user@]host[:port]. K/ gives it K slots; a host listed twice gets two. ':' is this machine (sh -c, no SSH). Repeatable."`
	NodeFile   []string `short:"N" sep:"none" placeholder:"FILE" help:"File of nodes, one SPEC per line; blank lines and # comments skipped; '-' is stdin. Repeatable."`
	Job        []string `short:"j" sep:"none" placeholder:"CMD" help:"A job: a shell command run on some node. Repeatable."`
	JobFile    []string `short:"J" sep:"none" placeholder:"FILE" help:"File of jobs, one command per line, read as a stream (pipes and <(generator) run while being written); blank lines skipped; '-' is stdin. Repeatable."`
	OnEachNode string   `short:"E" placeholder:"CMD" help:"Instead of jobs, run CMD once on every distinct node."`

	Status      bool   `short:"s" help:"Show a live status line on stderr: 'X of Y jobs complete, A of B nodes running jobs.'"`
	ActiveNodes string `short:"A" placeholder:"FILE" help:"Keep FILE listing one 'node: command' line per running job (replaced atomically; empty at the end)."`
	Stdout      string `short:"o" placeholder:"FILE" help:"Write all jobs' stdout to FILE; -o alone discards it."`
	Stderr      string `short:"e" placeholder:"FILE" help:"Write all jobs' stderr to FILE; -e alone discards it."`
	Tag         bool   `help:"Prefix every output line with 'node: '."`
	Verbose     int    `short:"v" type:"counter" help:"More detail at the end; -vv lists every job that never ran."`

	MaxNodes    int           `short:"m" placeholder:"N" help:"Run at most N jobs at once, whatever the slots (0 = no limit)."`
	MaxNodeUses int           `short:"u" placeholder:"N" help:"A node runs at most N jobs, then retires (0 = no limit)."`
	MaxAttempts int           `default:"3" placeholder:"N" help:"Fail a job once it has failed on N distinct nodes (0 = never: clstr's behaviour, which lets one bad job drain the fleet)."`
	OnFailure   string        `enum:"evict,retry,keep" default:"evict" help:"What a job's non-zero exit does: evict (the node is presumed broken and leaves; the job runs elsewhere), retry (node stays; job runs elsewhere), keep (node stays; job failed). A lost connection always evicts."`
	Timeout     time.Duration `placeholder:"DURATION" help:"Kill a job on its node after DURATION (e.g. 90s, 2h) and count it failed."`
	SSHConfig   string        `short:"F" name:"ssh-config" placeholder:"FILE" help:"ssh_config to use instead of ~/.ssh/config and /etc/ssh/ssh_config ('none' for none)."`
	AcceptNew   bool          `name:"accept-new-host-keys" help:"Accept and record host keys of hosts not yet in known_hosts (StrictHostKeyChecking accept-new). A changed key is always refused."`
	Jump        string        `placeholder:"HOST" help:"Reach every node through this SSH host (ProxyJump), unless ssh_config names another."`
	ConnTimeout time.Duration `name:"connect-timeout" placeholder:"DURATION" help:"Give up connecting to a node (TCP, SSH handshake and login) after DURATION (default: ssh_config ConnectTimeout, else 10s)."`
	Keepalive   time.Duration `placeholder:"DURATION" help:"Interval of SSH keepalives (default: ssh_config ServerAliveInterval, else 5s); a node that misses 3 (ServerAliveCountMax) is evicted as hung."`
	Grace       time.Duration `default:"5s" placeholder:"DURATION" help:"How long a killed job (timeout, second Ctrl-C) gets between TERM and KILL."`
}

// Help is shown under the usage line of "drove --help".
func (c *RunCmd) Help() string {
	return `Runs each job on some node over SSH, at most one job per node slot at once.
A job that exits non-zero evicts its node (clstr's model; see --on-failure) and
runs elsewhere, at most --max-attempts times.

  drove --node-file nodes.txt --job-file jobs.txt
  drove -n 4/: -J <(seq 10 | sed 's/^/echo job /')
  drove -N nodes.txt -E 'grep "model name" /proc/cpuinfo' | sort | uniq -c

Other commands: "drove partition --help" (split a tree into copy jobs).

` + exitHelp
}

// discardMarker is what a bare -o or -e (clstr's nargs='?') becomes.
const discardMarker = "\x00discard"

// bareOutputFlags rewrites -o/--stdout and -e/--stderr given without a FILE
// (at the end, or followed by another flag) into the discard marker, since
// kong has no optional flag values. Subcommands are left alone: partition
// has a -o of its own.
func bareOutputFlags(args []string) []string {
	if len(args) > 0 && (args[0] == "partition" || args[0] == "sync") {
		return args
	}
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		switch a {
		case "-o", "--stdout", "-e", "--stderr":
			if i+1 == len(args) || (strings.HasPrefix(args[i+1], "-") && args[i+1] != "-") {
				name := "--stdout"
				if a == "-e" || a == "--stderr" {
					name = "--stderr"
				}
				out = append(out, name+"="+discardMarker)
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// Run wires the command line to the nodes, jobs and runner packages.
func (c *RunCmd) Run(ctx context.Context, e *env) error {
	if err := c.validate(); err != nil {
		return err
	}
	specs, err := c.readNodes(e)
	if err != nil {
		return err
	}
	src, closeJobs, err := c.openJobs(e)
	if err != nil {
		return err
	}
	defer closeJobs()

	stdout, closeOut, err := c.output(c.Stdout, e.stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	stderrOut, closeErr, err := c.output(c.Stderr, e.stderr)
	if err != nil {
		return err
	}
	defer closeErr()

	dialer, err := c.dialer(e)
	if err != nil {
		return err
	}
	defer dialer.Close()

	ui := newStatusUI(e.stderr, c.Status, c.Verbose)
	var active *activeFile
	if c.ActiveNodes != "" {
		active, err = newActiveFile(c.ActiveNodes)
		if err != nil {
			return usageErrorf("--active-nodes: %v", err)
		}
		defer active.Close()
	}
	onEvent := func(ev runner.Event) {
		ui.event(ev)
		if active != nil {
			active.event(ev)
		}
	}

	cfg := runner.Config{
		Nodes:       c.poolNodes(specs, dialer),
		EachNode:    c.OnEachNode,
		MaxAttempts: c.MaxAttempts,
		MaxSlots:    c.MaxNodes,
		MaxNodeUses: c.MaxNodeUses,
		Timeout:     c.Timeout,
		Stdout:      runner.NewOutput(stdout),
		Stderr:      runner.NewOutput(stderrOut),
		Tag:         c.Tag,
		Drain:       e.drain,
		Events:      onEvent,
	}
	if c.OnEachNode == "" {
		cfg.Jobs = src
		cfg.FiniteJobs = c.jobsAreFinite()
	}
	switch c.OnFailure {
	case "retry":
		cfg.OnFailure = runner.Retry
	case "keep":
		cfg.OnFailure = runner.Keep
	}
	rep := runner.Run(ctx, cfg)
	ui.finish(rep)
	return outcome(rep)
}

func (c *RunCmd) validate() error {
	if len(c.Node) == 0 && len(c.NodeFile) == 0 {
		return usageErrorf("no nodes: give --node SPEC or --node-file FILE")
	}
	hasJobs := len(c.Job) > 0 || len(c.JobFile) > 0
	if c.OnEachNode != "" && hasJobs {
		return usageErrorf("--on-each-node cannot be used with --job or --job-file")
	}
	if c.OnEachNode == "" && !hasJobs {
		return usageErrorf("no jobs: give --job CMD, --job-file FILE or --on-each-node CMD")
	}
	stdin := 0
	for _, f := range append(append([]string(nil), c.NodeFile...), c.JobFile...) {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return usageErrorf("'-' (stdin) can be given only once among --node-file and --job-file")
	}
	if c.MaxNodes < 0 || c.MaxNodeUses < 0 || c.MaxAttempts < 0 {
		return usageErrorf("--max-nodes, --max-node-uses and --max-attempts must not be negative")
	}
	if c.Timeout < 0 || c.Grace < 0 || c.ConnTimeout < 0 || c.Keepalive < 0 {
		return usageErrorf("durations must not be negative")
	}
	return nil
}

// readNodes parses -n and -N into merged specs: a host listed twice gets
// two slots.
func (c *RunCmd) readNodes(e *env) ([]nodes.Spec, error) {
	var specs []nodes.Spec
	for _, s := range c.Node {
		sp, err := nodes.ParseSpec(s)
		if err != nil {
			return nil, usageErrorf("--node: %v", err)
		}
		specs = append(specs, sp)
	}
	for _, f := range c.NodeFile {
		r, name, closeFn, err := openInput(f, e)
		if err != nil {
			return nil, usageErrorf("--node-file: %v", err)
		}
		ss, err := nodes.ParseFile(r, name)
		closeFn()
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		specs = append(specs, ss...)
	}
	if len(specs) == 0 {
		return nil, usageErrorf("no nodes: the node files list none")
	}
	return nodes.Merge(specs), nil
}

// openJobs opens every job source up front, so a missing file is an error
// before anything runs; the files are then read as streams.
func (c *RunCmd) openJobs(e *env) (jobs.Source, func(), error) {
	srcs := []jobs.Source{&jobs.Strings{Cmds: c.Job, Name: "--job"}}
	var closers []func()
	closeAll := func() {
		for _, f := range closers {
			f()
		}
	}
	for _, f := range c.JobFile {
		r, name, closeFn, err := openInput(f, e)
		if err != nil {
			closeAll()
			return nil, nil, usageErrorf("--job-file: %v", err)
		}
		closers = append(closers, closeFn)
		srcs = append(srcs, jobs.NewReader(r, name))
	}
	return jobs.Concat(srcs...), closeAll, nil
}

// jobsAreFinite reports whether every job file is a regular file, which
// can be read to its end after an interrupt to list what never ran.
func (c *RunCmd) jobsAreFinite() bool {
	for _, f := range c.JobFile {
		if f == "-" {
			return false
		}
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

func openInput(path string, e *env) (io.Reader, string, func(), error) {
	if path == "-" {
		return e.stdin, "<stdin>", func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, "", nil, fmt.Errorf("%s: is a directory", path)
	}
	return f, path, func() { f.Close() }, nil
}

// output resolves -o/-e: unset = inherit, "" after a bare flag = discard,
// else a file that all jobs share.
func (c *RunCmd) output(path string, inherit io.Writer) (io.Writer, func(), error) {
	switch path {
	case "":
		return inherit, func() {}, nil
	case discardMarker:
		return io.Discard, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	return f, func() { f.Close() }, nil
}

func (c *RunCmd) dialer(e *env) (*nodes.Dialer, error) {
	opts := nodes.Options{
		ConfigFile:     c.SSHConfig,
		ConnectTimeout: c.ConnTimeout,
		Jump:           c.Jump,
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

// poolNodes turns specs into runner nodes: ':' runs locally, anything else
// is resolved through ssh_config and dialled when the run starts.
func (c *RunCmd) poolNodes(specs []nodes.Spec, d *nodes.Dialer) []runner.Node {
	var out []runner.Node
	for _, sp := range specs {
		name := sp.Key()
		if sp.Local() {
			name = "local"
			grace := c.Grace
			out = append(out, runner.Node{Name: name, Slots: sp.Slots, Connect: func(context.Context) (runner.Host, error) {
				return &runner.Local{Grace: grace}, nil
			}})
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

// outcome maps a run's report to drove's exit status.
func outcome(rep *runner.Report) error {
	var le *jobs.LineError
	nothingRan := rep.Stats.Total == 0 && rep.Succeeded == 0 && len(rep.Failed) == 0
	switch {
	case rep.StreamErr != nil && errors.As(rep.StreamErr, &le) && nothingRan:
		return &exitError{code: exitUsage, err: rep.StreamErr}
	case rep.Interrupted:
		return &exitError{code: exitInterrupted}
	case rep.StreamErr != nil:
		return &exitError{code: exitFailed, err: rep.StreamErr}
	case rep.Stats.Total == 0 && rep.Stats.TotalKnown:
		return usageErrorf("no jobs: the job list is empty")
	case !rep.OK() || len(rep.Refused) > 0 && rep.Stats.Total > 0 && rep.Succeeded < rep.Stats.Total:
		return &exitError{code: exitFailed}
	}
	return nil
}
