//go:build unix

// Command sshdbed starts a bed of real OpenSSH sshd nodes on loopback for
// benchmarks, prints where its ssh_config and nodes file are, and keeps the
// nodes running until it gets SIGINT or SIGTERM, when it kills every node's
// processes and removes its files.
//
// It must run as root. Typical use:
//
//	sshdbed -n 8 -info /tmp/bed.env &
//	# wait for /tmp/bed.env, then: . /tmp/bed.env
//	drove run --ssh-config "$SSHDBED_CONFIG" --node-file "$SSHDBED_NODES" ...
//	kill %1
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
)

// programTB adapts sshdtest's TB to a program: failures print and exit,
// cleanups run in reverse order at exit.
type programTB struct {
	cleanups []func()
}

func (p *programTB) Helper() {}

func (p *programTB) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sshdbed: "+format+"\n", args...)
}

func (p *programTB) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sshdbed: "+format+"\n", args...)
	p.runCleanups()
	os.Exit(1)
}

func (p *programTB) Skipf(format string, args ...any) { p.Fatalf(format, args...) }

func (p *programTB) Cleanup(f func()) { p.cleanups = append(p.cleanups, f) }

func (p *programTB) runCleanups() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}

// lines is a repeatable string flag.
type lines []string

func (l *lines) String() string     { return strings.Join(*l, "; ") }
func (l *lines) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var opts sshdtest.Options
	var extra lines
	info := flag.String("info", "", "also write the KEY=value lines to this file (atomically, once every node is up)")
	flag.IntVar(&opts.Nodes, "n", 8, "number of sshd nodes")
	flag.IntVar(&opts.MaxSessions, "max-sessions", 0, "sshd MaxSessions (0 = sshd default, 10)")
	flag.StringVar(&opts.MaxStartups, "max-startups", "", "sshd MaxStartups (empty = sshd default, 10:30:100)")
	flag.DurationVar(&opts.ClientAliveInterval, "client-alive", 0, "sshd ClientAliveInterval (0 = off)")
	flag.Var(&extra, "o", "extra sshd_config line (repeatable)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "sshdbed: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	opts.ExtraConfig = extra

	// Ask for the signals before starting, so none is lost in between.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)

	tb := &programTB{}
	start := time.Now()
	c := sshdtest.Start(tb, opts)
	elapsed := time.Since(start)

	env := fmt.Sprintf("SSHDBED_DIR=%s\nSSHDBED_CONFIG=%s\nSSHDBED_NODES=%s\nSSHDBED_KNOWN_HOSTS=%s\nSSHDBED_KEY=%s\nSSHDBED_USER=%s\n",
		c.Dir, c.SSHConfig, c.NodesFile, c.KnownHosts, c.ClientKey, c.User)
	fmt.Print(env)
	if *info != "" {
		if err := writeAtomically(*info, env); err != nil {
			tb.Fatalf("%v", err)
		}
	}
	fmt.Fprintf(os.Stderr, "sshdbed: %d nodes up in %v (%s..%s); stop with SIGINT or SIGTERM\n",
		len(c.Nodes), elapsed.Round(time.Millisecond), c.Nodes[0].Addr, c.Nodes[len(c.Nodes)-1].Addr)

	sig := <-sigs
	fmt.Fprintf(os.Stderr, "sshdbed: %v: stopping\n", sig)
	start = time.Now()
	tb.runCleanups()
	fmt.Fprintf(os.Stderr, "sshdbed: stopped in %v\n", time.Since(start).Round(time.Millisecond))
	if *info != "" {
		_ = os.Remove(*info)
	}
}

// writeAtomically writes data to path through a temporary file and a rename,
// so that a reader never sees a partial file.
func writeAtomically(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sshdbed-*")
	if err != nil {
		return fmt.Errorf("info file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return fmt.Errorf("info file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("info file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("info file: %w", err)
	}
	return nil
}
