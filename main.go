// Command drove runs shell jobs across a fleet of machines over SSH (run),
// splits big file trees into partitions (partition) and copies them with
// the fleet (sync).
//
// main.go holds the command line (kong), the exit statuses, and turns
// signals into contexts; each command's flags and wiring sit in a file of
// its own (run.go, partition_cmd.go, sync_cmd.go). The work lives in the
// packages below main, listed in CONTRIBUTING.md's "Code layout".
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/drove-dev/drove/hostlist"
)

// Exit statuses, documented in --help and README.md.
const (
	exitOK          = 0   // every job succeeded
	exitFailed      = 1   // some job failed or never ran
	exitDeleteLimit = 25  // drove sync stopped deleting at --max-delete (rsync's own status for it)
	exitUsage       = 2   // bad command line or input; nothing was run
	exitInterrupted = 130 // interrupted by SIGINT/SIGTERM
)

const exitHelp = `Exit status: 0 every job succeeded; 1 some job failed or never ran (or, for
partition, the listing was incomplete); 2 bad command line or input, nothing
was run; 130 interrupted. With -S/--max-exit, a failed run exits with the
largest exit status of its jobs (255: a node not reached or lost).`

// CLI is drove's command line. The default command runs jobs (clstr's
// command line); partition and sync are subcommands.
type CLI struct {
	Run       RunCmd       `cmd:"" default:"withargs" help:"Run jobs across nodes (the default command)."`
	Partition PartitionCmd `cmd:"" help:"Crawl SRC into partitions and print one copy job per partition."`
	Sync      SyncCmd      `cmd:"" help:"Copy SRC to DST across the nodes: crawl, partition, copy in parallel, final pass; resumable."`
	Copy      CopyCmd      `cmd:"" help:"Copy files or trees to every node (pdcp), or with --reverse from every node into DEST/NODE/ (rpdcp)."`
	Rcopy     RcopyCmd     `cmd:"" help:"Gather files or trees from every node into DEST/NODE/ here: drove copy --reverse."`

	Version     VersionCmd         `cmd:"" help:"Print the version: the module version, or the VCS revision of a build from a checkout."`
	Completion  CompletionCmd      `cmd:"" help:"Print a shell completion script (bash, zsh or fish)."`
	CompNodes   CompletionNodesCmd `cmd:"" name:"completion-nodes" hidden:"" help:"Print the node names completion offers."`
	Gateway     GatewayCmd         `cmd:"" hidden:"" help:"Serve a controller as its gateway (started by drove over SSH; see --gateway)."`
	VersionFlag kong.VersionFlag   `name:"version" short:"V" help:"Print the version and exit."`
}

// exitError carries an exit status through a command's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a bad-input error: one line on stderr, exit status 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// env is what a command needs from the process: its streams and the two
// stages of interruption. Commands never touch os.Stdout or signals directly.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// drain is closed on the first SIGINT/SIGTERM: start nothing new.
	drain <-chan struct{}
	// hup receives SIGHUP (re-read node files).
	hup <-chan os.Signal
	// config names the defaults files to read (none if zero).
	config configPaths
	// home is the user's home directory, where completion finds ~/.ssh
	// ("" in tests: none).
	home string
	// groups names ClusterShell's group files, for "@group" in node
	// specs (none in tests unless a test names its own).
	groups hostlist.GroupFiles
	// noColor: NO_COLOR is set (not empty), so node names are never
	// coloured.
	noColor bool
	// hostname is this machine's host name, for --topology's root (nil:
	// os.Hostname).
	hostname func() (string, error)
}

func main() {
	home, _ := os.UserHomeDir()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, config: userConfigPaths(os.Getenv, os.UserHomeDir), home: home,
		groups: clusterShellGroups(os.Getenv, os.UserHomeDir), noColor: os.Getenv("NO_COLOR") != ""}
	os.Exit(run(os.Args[1:], e))
}

// run parses args, runs the chosen command with e's streams and files and
// returns the exit status. The first SIGINT/SIGTERM closes e.drain; the
// second cancels the context; SIGHUP goes to e.hup.
func run(args []string, e *env) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	drain := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		close(drain)
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()

	e.drain, e.hup = drain, hup
	return runWith(ctx, e, args)
}

// runWith is run without the signal plumbing, for tests.
func runWith(ctx context.Context, e *env, args []string) (code int) {
	var cli CLI
	exited := false
	defaults := &defaults{}
	cli.Run.defaults = defaults
	parser, err := newParser(&cli,
		kong.Resolvers(defaults),
		kong.Writers(e.stdout, e.stderr),
		kong.Exit(func(c int) { exited = true; code = c; panic(kongExit{}) }),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(e),
	)
	if err != nil {
		fmt.Fprintf(e.stderr, "drove: %v\n", err)
		return exitUsage
	}
	if err := defaults.load(e.config, parser.Model); err != nil {
		fmt.Fprintf(e.stderr, "drove: %v\n", err)
		return exitUsage
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(kongExit); ok && exited {
				return
			}
			panic(r)
		}
	}()
	kctx, err := parser.Parse(helpForRun(bareOutputFlags(args)))
	if err != nil {
		if len(args) > 0 && strings.HasPrefix(args[0], "-") && subcommandArgs(args) != nil {
			// "drove -w nodes sync": a node command named like one of
			// drove's own.
			fmt.Fprintf(e.stderr, "drove: %v; to run a command of that name on the nodes, say run first: 'drove run -w NODES %s' (see 'drove --help')\n", err, strings.Join(subcommandArgs(args), " "))
			return exitUsage
		}
		fmt.Fprintf(e.stderr, "drove: %v (see '%s --help')\n", err, commandName(args))
		return exitUsage
	}
	if err := kctx.Run(); err != nil {
		return report(e.stderr, err)
	}
	return exitOK
}

// newParser builds drove's command line parser over cli: the model that
// --help, the man page (docs/drove.1) and the completion scripts come from.
func newParser(cli *CLI, options ...kong.Option) (*kong.Kong, error) {
	return kong.New(cli, append([]kong.Option{
		kong.Name("drove"),
		kong.Description("Run shell jobs across machines over SSH, and copy big trees in parallel partitions.\n\n" + exitHelp),
		kong.Vars{"version": versionString()},
		kong.TypeMapper(reflect.TypeOf(time.Duration(0)), durationMapper()),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	}, options...)...)
}

type kongExit struct{}

// subcommandArgs is args from the first word that names one of drove's
// commands on.
func subcommandArgs(args []string) []string {
	for i, a := range args {
		switch a {
		case "run", "partition", "sync", "copy", "rcopy", "version", "completion":
			return args[i:]
		}
	}
	return nil
}

// commandName is "drove" or "drove sync", for pointing at the right --help.
func commandName(args []string) string {
	if len(args) > 0 {
		switch args[0] {
		case "run", "partition", "sync", "copy", "rcopy", "version", "completion":
			return "drove " + args[0]
		}
	}
	return "drove"
}

// durationMapper decodes a duration flag: a Go duration ("90s", "2h30m")
// or, as GNU parallel and pssh take --timeout, a bare number of seconds
// ("30", "1.5").
func durationMapper() kong.Mapper {
	return kong.MapperFunc(func(ctx *kong.DecodeContext, target reflect.Value) error {
		var s string
		if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
			return err
		}
		d, err := parseDuration(s)
		if err != nil {
			return err
		}
		target.SetInt(int64(d))
		return nil
	})
}

func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpPnN_") {
		if f < 0 || f*float64(time.Second) > float64(math.MaxInt64) {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: give seconds (30) or a value with a unit (90s, 5m, 2h)", s)
	}
	return d, nil
}

// helpForRun makes "drove --help" show the default command's flags (clstr's
// command line), which is what a user of the default command looks for,
// and "drove help [COMMAND]" the same as "drove [COMMAND] --help".
func helpForRun(args []string) []string {
	if len(args) == 0 {
		return args
	}
	switch args[0] {
	case "help":
		if len(args) == 1 {
			return []string{"run", "--help"}
		}
		return append(args[1:2:2], "--help")
	case "run", "partition", "sync", "copy", "rcopy", "version", "completion", completionNodesName:
		return args
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" {
			return append([]string{"run"}, args...)
		}
	}
	return args
}

// report prints err as one line (unless it is a bare status) and maps it to
// an exit status.
func report(stderr io.Writer, err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "drove: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "drove: %v\n", err)
	return exitFailed
}
