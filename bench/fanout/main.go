// Command fanout is the bare x/crypto/ssh loop that bench/fanout.sh puts
// side by side with drove: the practical limit of running commands over SSH
// from Go, with nothing a job runner adds (no scheduler, no eviction, no
// retries, no status). It dials each node once and then either
//
//	fanout -F SSHCONFIG -N NODES -slots 4 -J JOBS   # a queue of jobs, 4 sessions per node
//	fanout -F SSHCONFIG -N NODES -E CMD             # CMD once on every node, all at once
//
// NODES holds one ssh_config Host alias per line; HostName, Port, User,
// IdentityFile and UserKnownHostsFile come from SSHCONFIG (the one
// bench/sshdbed writes). Every job's stdout goes to fanout's stdout. Any
// failed dial, session or job makes fanout report it on stderr and exit 1,
// so a benchmark cannot silently count work that did not happen. With -v it
// prints the time of each phase on stderr.
//
// With -wrap it sends each command inside the wrapper drove's runner puts
// around a connection's first job (runner.RemoteCommand: a watcher subshell
// that kills the job's process group when the session's stdin ends) and
// keeps the session's stdin open until the command ends, as drove
// does, so that the cost of the wrapper can be told apart from the cost of
// drove's scheduling. drove registers later jobs on a connection with a
// guard instead (runner/guard.go), which -wrap does not use.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/drove-dev/drove/runner"
	"github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func main() {
	cfgPath := flag.String("F", "", "ssh_config with one Host block per node (required)")
	nodesPath := flag.String("N", "", "file of node aliases, one per line (required)")
	jobsPath := flag.String("J", "", "file of jobs, one shell command per line")
	each := flag.String("E", "", "run this command once on every node instead of jobs")
	slots := flag.Int("slots", 4, "concurrent sessions per node connection (with -J)")
	timeout := flag.Duration("timeout", 5*time.Minute, "deadline for the whole run, dialing included")
	verbose := flag.Bool("v", false, "print the time of each phase on stderr")
	wrap := flag.Bool("wrap", false, "wrap each command as drove's runner does (see the package doc)")
	flag.Parse()
	if err := run(*cfgPath, *nodesPath, *jobsPath, *each, *slots, *timeout, *verbose, *wrap); err != nil {
		fmt.Fprintf(os.Stderr, "fanout: %v\n", err)
		os.Exit(1)
	}
}

func run(cfgPath, nodesPath, jobsPath, each string, slots int, timeout time.Duration, verbose, wrap bool) error {
	start := time.Now()
	switch {
	case cfgPath == "" || nodesPath == "":
		return errors.New("-F and -N are required")
	case (jobsPath == "") == (each == ""):
		return errors.New("give exactly one of -J and -E")
	case slots < 1:
		return errors.New("-slots must be at least 1")
	}
	targets, err := resolve(cfgPath, nodesPath)
	if err != nil {
		return err
	}
	var jobs []string
	if jobsPath != "" {
		if jobs, err = readLines(jobsPath); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out := newOutput(os.Stdout)
	defer out.close()

	clients, err := dialAll(ctx, targets)
	// Closing every client when the deadline passes unblocks any session
	// still waiting, so the deadline bounds the whole run.
	stop := context.AfterFunc(ctx, func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	})
	defer stop()
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	if err != nil {
		return err
	}
	dialed := time.Now()

	if each != "" {
		err = runEach(clients, targets, each, wrap, out)
	} else {
		err = runQueue(clients, targets, jobs, slots, wrap, out)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("deadline %v passed: %w", timeout, ctx.Err())
	}
	if verbose {
		fmt.Fprintf(os.Stderr, "fanout: %d nodes: resolve+dial %v, run %v, total %v\n",
			len(targets), dialed.Sub(start).Round(time.Millisecond),
			time.Since(dialed).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	return err
}

// target is one node as resolved from the ssh_config.
type target struct {
	alias      string
	addr       string
	user       string
	key        string
	knownHosts string
}

// resolve reads the node aliases and looks each one up in the ssh_config.
func resolve(cfgPath, nodesPath string) ([]target, error) {
	f, err := os.Open(cfgPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, err := ssh_config.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	aliases, err := readLines(nodesPath)
	if err != nil {
		return nil, err
	}
	if len(aliases) == 0 {
		return nil, fmt.Errorf("%s: no nodes", nodesPath)
	}
	var ts []target
	for _, a := range aliases {
		get := func(key string) string {
			v, _ := cfg.Get(a, key)
			return strings.Trim(v, `"`)
		}
		t := target{alias: a, user: get("User"), key: get("IdentityFile"), knownHosts: get("UserKnownHostsFile")}
		host, port := get("HostName"), get("Port")
		if host == "" || port == "" || t.user == "" || t.key == "" || t.knownHosts == "" {
			return nil, fmt.Errorf("%s: node %q lacks HostName, Port, User, IdentityFile or UserKnownHostsFile", cfgPath, a)
		}
		t.addr = net.JoinHostPort(host, port)
		ts = append(ts, t)
	}
	return ts, nil
}

// readLines returns the non-blank lines of a file, trimmed.
func readLines(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// dialAll dials every target at once, loading each distinct key and
// known_hosts file once. It returns the clients it got, index for index,
// even on error, so that the caller closes them.
func dialAll(ctx context.Context, ts []target) ([]*ssh.Client, error) {
	configs := map[[3]string]*ssh.ClientConfig{}
	for _, t := range ts {
		k := [3]string{t.user, t.key, t.knownHosts}
		if configs[k] != nil {
			continue
		}
		pem, err := os.ReadFile(t.key)
		if err != nil {
			return nil, err
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.key, err)
		}
		hostKeys, err := knownhosts.New(t.knownHosts)
		if err != nil {
			return nil, err
		}
		configs[k] = &ssh.ClientConfig{
			User:            t.user,
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: hostKeys,
		}
	}
	clients := make([]*ssh.Client, len(ts))
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			clients[i], errs[i] = dial(ctx, t.addr, configs[[3]string{t.user, t.key, t.knownHosts}])
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s (%s): %w", t.alias, t.addr, errs[i])
			}
		})
	}
	wg.Wait()
	return clients, errors.Join(errs...)
}

// dial connects and logs in, with the context's deadline on both the TCP
// connect and the SSH handshake.
func dial(ctx context.Context, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// runQueue runs the jobs in slots goroutines per client, each taking the
// next job from one shared queue, like a job runner with every slot busy.
func runQueue(clients []*ssh.Client, ts []target, jobs []string, slots int, wrap bool, out *output) error {
	queue := make(chan string, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	errs := make(chan error, len(clients)*slots)
	var wg sync.WaitGroup
	for i, c := range clients {
		for range slots {
			wg.Go(func() {
				for j := range queue {
					if err := runOne(c, j, wrap, out); err != nil {
						errs <- fmt.Errorf("%s: job %q: %w", ts[i].alias, j, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if len(all) == 0 && len(queue) > 0 {
		all = append(all, fmt.Errorf("%d jobs never ran", len(queue)))
	}
	return errors.Join(all...)
}

// runEach runs cmd once on every client, all at once.
func runEach(clients []*ssh.Client, ts []target, cmd string, wrap bool, out *output) error {
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			if err := runOne(c, cmd, wrap, out); err != nil {
				errs[i] = fmt.Errorf("%s: %w", ts[i].alias, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runOne runs cmd in a new session, inside runner.RemoteCommand if wrap is set, and
// hands its stdout to out. Its stderr goes to fanout's stderr.
func runOne(c *ssh.Client, cmd string, wrap bool, out *output) error {
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	var stdout bytes.Buffer
	s.Stdout = &stdout
	s.Stderr = os.Stderr
	if wrap {
		// Like drove: stdin stays open (the wrapper's watcher reads it)
		// until the session closes.
		if _, err := s.StdinPipe(); err != nil {
			return err
		}
		cmd = runner.RemoteCommand(cmd, 5)
	}
	err = s.Run(cmd)
	out.write(stdout.Bytes())
	return err
}

// output serialises jobs' stdout through one goroutine that owns the
// buffered writer.
type output struct {
	ch   chan []byte
	done chan struct{}
}

func newOutput(w io.Writer) *output {
	o := &output{ch: make(chan []byte, 256), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		bw := bufio.NewWriter(w)
		for b := range o.ch {
			_, _ = bw.Write(b)
		}
		_ = bw.Flush()
	}()
	return o
}

func (o *output) write(b []byte) {
	if len(b) > 0 {
		o.ch <- b
	}
}

// close flushes everything written so far; write must not be called after.
func (o *output) close() {
	close(o.ch)
	<-o.done
}
