// Command drove runs shell jobs across a fleet of machines over SSH, and
// splits big file trees into partitions that those machines copy in parallel.
//
// main.go holds the command line (kong) and turns signals into contexts; the
// work lives in the nodes, jobs, runner and partition packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// Exit statuses, documented in --help and README.md.
const (
	exitOK          = 0   // every job succeeded
	exitFailed      = 1   // some job failed or never ran
	exitUsage       = 2   // bad command line or input; nothing was run
	exitInterrupted = 130 // interrupted by SIGINT/SIGTERM
)

const exitHelp = `Exit status: 0 every job succeeded; 1 some job failed or never ran (or, for
partition, the listing was incomplete); 2 bad command line or input, nothing
was run; 130 interrupted.`

// CLI is drove's command line. The default command runs jobs (clstr's
// command line); partition and sync are subcommands.
type CLI struct {
	Run       RunCmd       `cmd:"" default:"withargs" help:"Run jobs across nodes (the default command)."`
	Partition PartitionCmd `cmd:"" help:"Crawl SRC into partitions and print one copy job per partition."`
	Sync      SyncCmd      `cmd:"" help:"Copy SRC to DST across the nodes: crawl, partition, copy in parallel, final pass; resumable."`

	Version kong.VersionFlag `short:"V" help:"Print the version and exit."`
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
}

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run parses args, runs the chosen command and returns the exit status. The
// first SIGINT/SIGTERM closes env.drain; the second cancels the context.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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

	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, drain: drain, hup: hup}
	return runWith(ctx, e, args)
}

// runWith is run without the signal plumbing, for tests.
func runWith(ctx context.Context, e *env, args []string) (code int) {
	var cli CLI
	exited := false
	parser, err := kong.New(&cli,
		kong.Name("drove"),
		kong.Description("Run shell jobs across machines over SSH, and copy big trees in parallel partitions.\n\n"+exitHelp),
		kong.Writers(e.stdout, e.stderr),
		kong.Exit(func(c int) { exited = true; code = c; panic(kongExit{}) }),
		kong.Vars{"version": "drove " + version},
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(e),
	)
	if err != nil {
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
		fmt.Fprintf(e.stderr, "drove: %v\n", err)
		return exitUsage
	}
	if err := kctx.Run(); err != nil {
		return report(e.stderr, err)
	}
	return exitOK
}

type kongExit struct{}

// helpForRun makes "drove --help" show the default command's flags (clstr's
// command line), which is what a user of the default command looks for.
func helpForRun(args []string) []string {
	if len(args) == 0 {
		return args
	}
	switch args[0] {
	case "run", "partition", "sync", "help":
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
