package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/internal/shquote"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/records"
	"github.com/drove-dev/drove/runner"
	"github.com/drove-dev/drove/termview"
)

// RunCmd is the default command: clstr's command line, made safe.
type RunCmd struct {
	Job        []string `short:"j" sep:"none" placeholder:"CMD" help:"A job: a shell command run on some node. Repeatable."`
	JobFile    []string `short:"J" sep:"none" placeholder:"FILE" help:"File of jobs, one command per line, read as a stream (pipes and <(generator) run while being written); blank lines skipped; '-' is stdin. Repeatable."`
	OnEachNode string   `short:"E" placeholder:"CMD" help:"Instead of jobs, run CMD once on every distinct node."`
	Command    []string `arg:"" optional:"" passthrough:"" name:"command" help:"A command to run once on every distinct node, pdsh's way: its words are joined with spaces into one shell command line (as pdsh and ssh do), and each output line is labelled 'node: ' (-E CMD runs it unlabelled, as clstr). Everything after the first word is the command's, flags included."`
	nodeChoice `embed:""`

	Status      bool   `short:"s" help:"Show a live status line on stderr: 'X of Y jobs complete, A of B nodes running jobs.' (-s is --status here, as in clstr; in drove sync and drove partition -s is --size, as in fpsync and fpart; drove sync's status line is --status, without -s.)"`
	ActiveNodes string `short:"A" placeholder:"FILE" help:"Keep FILE listing one 'node: command' line per running job (replaced atomically; empty at the end)."`
	Stdout      string `short:"o" placeholder:"FILE" help:"Write all jobs' stdout to FILE; -o alone discards it."`
	Stderr      string `short:"e" placeholder:"FILE" help:"Write all jobs' stderr to FILE; -e alone discards it."`
	Tag         bool   `help:"Prefix every output line with 'node: '. On a terminal the node names of labels and of --gather's headers are coloured as clush colours them (stdout blue, stderr red); never when NO_COLOR is set or the output is not a terminal."`
	Gather      bool   `short:"b" help:"Gather output, as clush -b and dshbak -c: print each distinct stdout once, at the end, under the folded set of nodes that gave it ('node[01-08,10] (9)'), with the exit status of groups that failed. For inventories (-E): output is held in memory until the end, each distinct output once. stderr streams as usual."`
	MaxNodeUses int    `short:"u" placeholder:"N" help:"A node runs at most N jobs, then retires (0 = no limit)."`
	MaxExit     bool   `short:"S" name:"max-exit" help:"Exit with the largest exit status of the jobs, as pdsh -S: a job's last attempt counts (128+n for a signal, 124 for --timeout), and 255 a node lost or not reached (--on-each-node), or a job that never ran."`

	JobLog       string `name:"joblog" placeholder:"FILE" help:"Append one line per finished job to FILE, in GNU parallel's --joblog format (Seq Host Starttime JobRuntime Send Receive Exitval Signal Command), as each job ends."`
	Resume       bool   `help:"With --joblog: skip the jobs the log records as finished (succeeded, or failed for good). Jobs are matched by command text, not line number."`
	ResumeFailed bool   `help:"With --joblog: skip the jobs the log records as succeeded; run the failed ones again."`
	Results      string `placeholder:"DIR" help:"Keep each job's stdout, stderr and meta.json (node, exit status, times of each attempt) in DIR/NNNNNN-command/."`
	Events       string `placeholder:"FILE" help:"Write one JSON object per line to FILE for every node joined, refused, evicted or readmitted and every job started and finished ('-' = stdout, when job output goes elsewhere with -o)."`
	StatusFile   string `placeholder:"FILE" help:"Keep FILE holding a JSON snapshot of the run (counts, nodes, running jobs, ETA), replaced atomically about once a second."`
	DryRun       bool   `help:"Print the resolved nodes (user, address, port, slots, jump host, identities) and the jobs that would run, without connecting."`

	gatewayFlags `embed:""`
	fleetFlags   `embed:""`

	defaults *defaults `kong:"-"` // what config files set, for --dry-run
}

// Help is shown under the usage line of "drove --help".
func (c *RunCmd) Help() string {
	return `Runs each job on some node over SSH, at most one job per node slot at once.
A job that exits non-zero evicts its node (clstr's model; see --on-failure) and
runs elsewhere, at most --max-attempts times.

  drove --node-file nodes.txt --job-file jobs.txt
  drove -n 4/: -J <(seq 10 | sed 's/^/echo job /')
  drove -N nodes.txt -E 'grep "model name" /proc/cpuinfo' | sort | uniq -c

Commands:
  run        run jobs across nodes (the default: "drove run" may be left out)
  partition  split a tree into partitions and print one copy job per partition
  sync       copy a tree across the nodes in parallel partitions, resumably
  copy       copy files or trees to every node (pdcp, clush --copy, pscp)
  rcopy      gather files or trees from every node into DEST/NODE/ (copy --reverse)
  version    print the version
  completion print a shell completion script: drove completion bash|zsh|fish
  help       "drove help COMMAND" is "drove COMMAND --help"

Durations are seconds (30) or have a unit (90s, 5m, 2h).

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
				// -o alone: discard, as clstr's nargs='?' does.
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
	c.nodeChoice.addTo(&c.fleetFlags)
	if len(c.Command) > 0 {
		if c.OnEachNode != "" || len(c.Job) > 0 || len(c.JobFile) > 0 {
			return usageErrorf("a command given as arguments (%q) cannot be used with --on-each-node, --job or --job-file", strings.Join(c.Command, " "))
		}
		c.OnEachNode, c.Tag = strings.Join(c.Command, " "), true
	}
	if len(c.Node) == 0 && len(c.NodeFile) == 0 {
		return c.noNodes()
	}
	if err := c.validate(); err != nil {
		return err
	}
	if err := c.nodeChoice.exclude(&c.fleetFlags, e); err != nil {
		return err
	}
	specs, fixed, err := c.readNodes(e)
	if err != nil {
		return err
	}
	src, closeJobs, err := c.openJobs(e)
	if err != nil {
		return err
	}
	defer closeJobs()

	scr := termview.NewScreen(e.stdout, e.stderr, c.Status)
	defer scr.Close()
	stdout, closeOut, err := c.output(c.Stdout, scr.Stdout())
	if err != nil {
		return err
	}
	defer closeOut()
	stderrOut, closeErr, err := c.output(c.Stderr, scr.Stderr())
	if err != nil {
		return err
	}
	defer closeErr()
	outputs := []namedOutput{
		{"stdout", runner.NewOutput(stdout), closeOut},
		{"stderr", runner.NewOutput(stderrOut), closeErr},
	}
	for _, o := range outputs {
		name := o.name
		o.out.OnError(func(err error) { fmt.Fprintf(scr.Messages(), "drove: %s: %v\n", name, err) })
	}
	// Node names coloured as clush colours them, where they reach a
	// terminal (drove's own stdout or stderr, not a file of -o or -e).
	colourOut := (c.Stdout == "" || c.Stdout == "-") && termview.Colours(e.stdout, e.noColor)
	if colourOut {
		outputs[0].out.SetLabel(termview.StdoutLabel)
	}
	if (c.Stderr == "" || c.Stderr == "-") && termview.Colours(e.stderr, e.noColor) {
		outputs[1].out.SetLabel(termview.StderrLabel)
	}

	via, err := c.reach(e, &c.fleetFlags, c.Gather)
	if err != nil {
		return err
	}
	defer via.close()
	dialer := via.dialer

	var skipped atomic.Int64               // jobs the job log records as done
	var newSkip func() func(jobs.Job) bool // a fresh --resume matcher (each counts what it skipped)
	if c.Resume || c.ResumeFailed {
		done, err := records.ReadJobLog(c.JobLog)
		if err != nil {
			return usageErrorf("--resume: %v", err)
		}
		newSkip = func() func(jobs.Job) bool { return done.Skipper(c.ResumeFailed) }
		src = jobs.Skip(src, newSkip(), func(jobs.Job) { skipped.Add(1) })
	}
	if c.DryRun {
		return c.dryRun(e, specs, dialer, src)
	}

	recs, err := records.Open(records.Options{
		JobLog: c.JobLog, Results: c.Results, Events: c.Events, StatusFile: c.StatusFile, ActiveNodes: c.ActiveNodes,
		Stdout: scr.Stdout(), LocalNode: localNodeName,
	})
	if err != nil {
		return usageErrorf("%v", recordError(err))
	}
	closed := false
	defer func() {
		if !closed {
			recs.Close()
		}
	}()
	ui := termview.NewRun(scr, c.Status, c.Verbose)
	ui.Hint = nodeHint
	cfg := runner.Config{
		Nodes:        c.poolNodes(specs, dialer),
		EachNode:     c.OnEachNode,
		OnFailure:    c.onFailure(),
		MaxAttempts:  c.MaxAttempts,
		MaxSlots:     c.MaxNodes,
		MaxNodeUses:  c.MaxNodeUses,
		Timeout:      c.Timeout,
		ReadmitAfter: c.ReadmitAfter,
		Stdout:       outputs[0].out,
		Stderr:       outputs[1].out,
		Tag:          c.Tag,
		Drain:        e.drain,
		JobOutput:    recs.JobOutput(),
		Events: func(ev runner.Event) {
			ui.Event(ev)
			recs.Event(ev)
		},
	}
	var gather *termview.Gather
	outputFailed := false // --gather could not print
	if c.Gather {
		gather = termview.NewGather()
		gather.Colour = colourOut
		cfg.JobOutput = runner.JoinJobOutputs(cfg.JobOutput, gather.JobOutput)
		cfg.Stdout = runner.NewOutput(io.Discard)
	}
	if c.OnEachNode == "" {
		cfg.Jobs = src
		cfg.FiniteJobs = c.jobsAreFinite()
		if c.Status && cfg.FiniteJobs {
			var skip func(jobs.Job) bool
			if newSkip != nil {
				skip = newSkip()
			}
			if n, ok := c.countJobs(skip); ok {
				ui.SetTotal(n)
			}
		}
		if updates := c.watchNodes(e, specs, fixed, dialer); updates != nil {
			stop := make(chan struct{})
			defer close(stop)
			go updates.Run(stop)
			cfg.NodeUpdates = updates.out
		}
	}
	rep := runner.Run(ctx, cfg)
	if rep.Unread && cfg.FiniteJobs {
		// Interrupted before the reader saw the end of the job files:
		// when they hold no more jobs than were read, the stream was
		// read whole after all (and the total is known).
		var skip func(jobs.Job) bool
		if newSkip != nil {
			skip = newSkip()
		}
		if n, ok := c.countJobs(skip); ok && n >= rep.Stats.Total {
			ui.SetTotal(n)
			rep.Unread = n > rep.Stats.Total
			rep.Stats.TotalKnown = !rep.Unread
		}
	}
	if gather != nil {
		unit := "job"
		if c.OnEachNode != "" {
			unit = ""
		}
		if err := gather.Print(stdout, unit); err != nil {
			fmt.Fprintf(scr.Messages(), "drove: --gather: %v\n", err)
			outputFailed = true
		}
	}
	ui.Finish(rep)
	closed = true
	failed := outputLost(scr.Messages(), outputs) || outputFailed
	for _, err := range recs.Close() {
		fmt.Fprintf(e.stderr, "drove: %v\n", recordError(err))
		failed = true
	}
	if failed && rep.OK() {
		return &exitError{code: exitFailed}
	}
	if rep.Stats.Total == 0 && rep.Stats.TotalKnown && skipped.Load() > 0 && rep.StreamErr == nil && !rep.Interrupted {
		fmt.Fprintf(e.stderr, "drove: nothing left to run: %s records all %d jobs as done\n", c.JobLog, skipped.Load())
		return nil
	}
	return outcome(rep, c.MaxExit, c.OnEachNode != "")
}

// noNodes is the error for a run given no nodes, with a hint for pdsh's
// and ssh's habit of naming the host first ("drove web1 uname -r").
func (c *RunCmd) noNodes() error {
	const give = "no nodes: give --node/-w SPEC, --node-file/-N FILE or --group/-g GROUP"
	if len(c.Command) > 1 {
		if _, err := hostlist.ParseList(c.Command[0]); err == nil {
			cmd := strings.Join(c.Command[1:], " ")
			return usageErrorf("%s; to run '%s' on %s, name the nodes with -w: drove -w %s %s", give,
				cmd, c.Command[0], shquote.Quote(c.Command[0]), cmd)
		}
	}
	if len(c.Command) > 0 {
		return usageErrorf("%s; to run '%s' on each node: drove -w NODES %s", give, c.OnEachNode, c.OnEachNode)
	}
	return usageErrorf("%s", give)
}

// namedOutput is one of drove's two output streams (its own stdout and
// stderr, or the files of -o and -e) and how to close it.
type namedOutput struct {
	name  string
	out   *runner.Output
	close func() error
}

// outputLost reports, after a run, each output stream that failed (its
// first error was reported as it happened) with how many jobs' output was
// lost, and closes the files of -o and -e, reporting an error there too.
// It says whether anything was lost: the run then exits 1.
func outputLost(w io.Writer, outs []namedOutput) bool {
	lost := false
	for _, o := range outs {
		if err, n := o.out.Failed(); err != nil {
			fmt.Fprintf(w, "drove: %s: the output of %d %s was lost in whole or part (write error above)\n", o.name, n, plural(n, "job", "jobs"))
			lost = true
		}
		if err := o.close(); err != nil {
			fmt.Fprintf(w, "drove: %s: %v\n", o.name, err)
			lost = true
		}
	}
	return lost
}

// plural is one or many by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// recordFlags are the flags that ask for each record.
var recordFlags = map[records.Kind]string{
	records.JobLog: "--joblog", records.Results: "--results", records.Events: "--events",
	records.StatusFile: "--status-file", records.ActiveNodes: "--active-nodes",
}

// recordError names the flag behind a record's error: "--joblog: ...".
func recordError(err error) error {
	var re *records.Error
	if errors.As(err, &re) {
		return fmt.Errorf("%s: %w", recordFlags[re.Record], re.Err)
	}
	return err
}

func (c *RunCmd) validate() error {
	if err := c.fleetFlags.validate(); err != nil {
		return err
	}
	hasJobs := len(c.Job) > 0 || len(c.JobFile) > 0
	if c.OnEachNode != "" && hasJobs {
		return usageErrorf("--on-each-node cannot be used with --job or --job-file")
	}
	if c.OnEachNode == "" && !hasJobs {
		return usageErrorf("no jobs: give a command after the nodes ('drove -w NODES uname -r'), --job CMD, --job-file FILE or --on-each-node CMD")
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
	if c.MaxNodeUses < 0 {
		return usageErrorf("--max-node-uses must not be negative")
	}
	if (c.Resume || c.ResumeFailed) && c.JobLog == "" {
		return usageErrorf("--resume and --resume-failed need --joblog FILE")
	}
	if c.Resume && c.ResumeFailed {
		return usageErrorf("--resume and --resume-failed cannot be used together")
	}
	if c.Events == "-" && c.Stdout == "" {
		return usageErrorf("--events - writes to stdout: send job output elsewhere with -o FILE (or -o to discard it)")
	}
	return nil
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
func (c *RunCmd) output(path string, inherit io.Writer) (io.Writer, func() error, error) {
	switch path {
	case "", "-":
		return inherit, func() error { return nil }, nil
	case discardMarker:
		return io.Discard, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	var once sync.Once
	var cerr error
	return f, func() error { once.Do(func() { cerr = f.Close() }); return cerr }, nil
}

// outcome maps a run's report to drove's exit status; with maxExit
// (-S), a run that failed exits with the largest status of its jobs
// instead of 1 (see maxExitStatus).
func outcome(rep *runner.Report, maxExit, eachNode bool) error {
	var le *jobs.LineError
	nothingRan := rep.Stats.Total == 0 && rep.Succeeded == 0 && len(rep.Failed) == 0
	switch {
	case rep.StreamErr != nil && errors.As(rep.StreamErr, &le) && nothingRan:
		return &exitError{code: exitUsage, err: rep.StreamErr}
	case rep.Interrupted:
		return &exitError{code: exitInterrupted}
	case rep.StreamErr != nil:
		code := exitFailed
		if maxExit {
			code = max(code, maxExitStatus(rep, eachNode))
		}
		return &exitError{code: code, err: rep.StreamErr}
	case rep.Stats.Total == 0 && rep.Stats.TotalKnown:
		return usageErrorf("no jobs: the job list is empty")
	case maxExit:
		if st := maxExitStatus(rep, eachNode); st != 0 {
			return &exitError{code: st}
		}
		if !rep.OK() {
			return &exitError{code: exitFailed}
		}
	case !rep.OK() || len(rep.Refused) > 0 && rep.Stats.Total > 0 && rep.Succeeded < rep.Stats.Total:
		return &exitError{code: exitFailed}
	}
	return nil
}
