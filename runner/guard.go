package runner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drove-dev/drove/internal/randhex"
	"github.com/drove-dev/drove/internal/shquote"
	"golang.org/x/crypto/ssh"
)

// guard is one long-lived session per SSH connection whose shell
// (guard.sh) kills the process groups of that connection's jobs when its
// stdin ends: when drove closes the connection, dies, or the connection
// drops. A guarded job registers "PGID TOKEN" in the guard's FIFO on the
// node and checks the guard is up before it runs, or kills itself.
//
// Protocol on the guard's stdin, one line each: "p" (drain the FIFO,
// forgetting jobs that have exited) and "k TOKEN" (TERM to that job's
// group and marked processes, KILL after the grace period). On a node
// where the guard cannot start, jobs carry their own watcher. The design,
// and why it is race-free, is in docs/design-runner.md.
type guard struct {
	pid string // the guard shell's pid on the node
	dir string // its directory on the node

	// Set once from dir, for the jobs' commands: the quoted paths of its
	// files and its last element.
	upQ, fifoQ, name string

	next atomic.Int64  // the last token handed out
	gone chan struct{} // closed when the guard's session has ended

	mu      sync.Mutex
	stdin   io.WriteCloser
	started int         // jobs started since the last drain
	timer   *time.Timer // a drain due after jobs ended
}

const (
	// guardHello starts the line a guard prints once it is ready.
	guardHello = "drove-guard"
	// guardStartTimeout bounds the wait for that line.
	guardStartTimeout = 20 * time.Second
	// drainEvery bounds the registrations waiting in the FIFO between
	// drains (a FIFO holds at least 4 KiB; a line is at most ~30 bytes).
	drainEvery = 32
	// drainAfter is how long after a job ends the guard is asked to
	// forget it, so that a finished job's pid is not kept for long.
	drainAfter = 250 * time.Millisecond
)

// guardScript is the command that starts the guard's program (guard.sh):
// POSIX sh, run by sh whatever the login shell, with builtins only per job
// (mkdir, mkfifo, rm and sleep run once per connection, or per killed
// job). name is the last element of its directory, made under $TMPDIR (or
// /tmp); it and the grace period reach the script as its positional
// parameters.
func guardScript(graceSeconds int, name string) string {
	return "exec sh -c " + shquote.Quote(guardProgram) + " sh " + strconv.Itoa(max(graceSeconds, 0)) + " " + shquote.Quote(name)
}

// startGuard opens a guard session on client and waits until it is ready.
func startGuard(client *ssh.Client, graceSeconds int) (*guard, error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("guard session: %w", err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("guard session: %w", err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("guard session: %w", err)
	}
	if err := sess.Start(guardScript(graceSeconds, "drove-guard."+randhex.String(8))); err != nil {
		sess.Close()
		return nil, fmt.Errorf("guard session: %w", err)
	}
	// A guard that never says it is ready is given up on.
	t := time.AfterFunc(guardStartTimeout, func() { sess.Close() })
	pid, dir, err := readGuardHello(out)
	if !t.Stop() && err == nil {
		err = errors.New("no answer in time")
	}
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("guard session: %w", err)
	}
	g := newGuard(pid, dir, stdin, make(chan struct{}))
	go func() {
		_, _ = io.Copy(io.Discard, out)
		_ = sess.Wait()
		close(g.gone)
	}()
	return g, nil
}

// newGuard returns the guard whose shell has pid and dir on the node,
// reading stdin; gone is closed when its session has ended.
func newGuard(pid, dir string, stdin io.WriteCloser, gone chan struct{}) *guard {
	return &guard{pid: pid, dir: dir, stdin: stdin, gone: gone,
		upQ: shquote.Quote(dir + "/up"), fifoQ: shquote.Quote(dir + "/q"), name: path.Base(dir)}
}

// readGuardHello reads the guard's ready line, skipping what a login shell
// may print before it.
func readGuardHello(r io.Reader) (pid, dir string, err error) {
	br := bufio.NewReader(io.LimitReader(r, 64<<10))
	for {
		line, err := br.ReadString('\n')
		if rest, ok := strings.CutPrefix(line, guardHello+" "); ok && err == nil {
			pid, dir, ok := strings.Cut(strings.TrimSuffix(rest, "\n"), " ")
			if n, aerr := strconv.Atoi(pid); ok && aerr == nil && n > 1 && strings.HasPrefix(dir, "/") {
				return pid, dir, nil
			}
			return "", "", fmt.Errorf("bad ready line %q", line)
		}
		if err != nil {
			return "", "", fmt.Errorf("no ready line: %w", err)
		}
	}
}

// alive reports whether the guard's session is still open. Jobs given to
// a guard that has died kill themselves rather than run unguarded, so a
// connection whose guard is gone goes back to per-job watchers.
func (g *guard) alive() bool {
	select {
	case <-g.gone:
		return false
	default:
		return true
	}
}

// job returns the command that runs job under the guard, and its token.
// The job registers, then runs in the login shell with stdin from
// /dev/null as RemoteCommand runs it (see jobCommand); if the guard is
// gone or going, it kills itself first.
func (g *guard) job(job string) (tok int64, command string) {
	return g.wrap("", jobCommand(job))
}

// wrap is job for a job's jobCommand jc, with head put before the whole
// command (the ready mark): the command is built in one allocation.
func (g *guard) wrap(head, jc string) (tok int64, command string) {
	tok = g.next.Add(1)
	g.mu.Lock()
	g.started++
	if g.started >= drainEvery {
		g.drainLocked()
	}
	g.mu.Unlock()
	t := strconv.FormatInt(tok, 10)
	return tok, head + `{ echo "$$ ` + t + `" >&5 && [ -e ` + g.upQ + ` ] && kill -0 ` + g.pid + `; } ` +
		`2>/dev/null 5<>` + g.fifoQ + ` || kill -KILL $$; exec </dev/null; ` +
		markVar + `=` + g.name + `:` + t + `; export ` + markVar + `; ` + jc
}

// ended notes that a job's session is over: the guard is asked to drain
// soon, so that it forgets the job.
func (g *guard) ended() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timer == nil {
		g.timer = time.AfterFunc(drainAfter, g.drain)
	}
}

// drain asks the guard to read the registrations waiting for it.
func (g *guard) drain() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.drainLocked()
}

func (g *guard) drainLocked() {
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.started = 0
	_, _ = io.WriteString(g.stdin, "p\n")
}

// kill asks the guard to end the job with token tok: TERM to its process
// group, KILL after the grace period.
func (g *guard) kill(tok int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, _ = io.WriteString(g.stdin, "k "+strconv.FormatInt(tok, 10)+"\n")
}
