package runner

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drove-dev/drove/internal/shquote"
	"golang.org/x/crypto/ssh"
)

// guard is one long-lived session per SSH connection whose shell kills the
// process groups of that connection's jobs when its stdin ends — when drove
// closes the connection, dies, or the connection drops. It replaces the
// per-job watcher of RemoteCommand, which cost one fork of the login shell
// per job on the node, and it costs no SSH message per job.
//
// The guard makes a private directory on the node holding a FIFO and a
// file named "up". A guarded job registers itself on the node, with no
// round trip to drove: it writes "PGID TOKEN" (its shell's pid, which is
// its process group since sshd makes every session a process group of its
// own, and a token drove chose for it) into the FIFO, then checks that
// "up" still exists and the guard is alive, and only then runs. The guard
// does not read the FIFO per job; it drains it when drove asks ("p", sent
// after every few jobs and shortly after jobs end), forgetting jobs whose
// shell has exited.
//
// When its stdin ends the guard removes "up", drains the FIFO up to a line
// it writes itself, removes the directory, and sends TERM, then KILL after
// the grace period, to every registered job still running. A job that
// found "up" had written its line before "up" went, so before that last
// line: the guard reads it and kills the job. A job that comes later finds
// no "up" (or no FIFO) and kills itself before running anything.
//
// drove kills one job (timeout, second Ctrl-C) with "k TOKEN": the guard
// drains, then sends TERM and later KILL to that job's group and to the
// processes marked with the job's DROVE_JOB (NAME:TOKEN; see killMarked),
// as it does for every job still running when its stdin ends; a token not
// registered yet is remembered and killed when its line arrives, and drove
// keeps asking for drains until the job's session ends; the processes
// marked with its token get TERM at once and KILL after the grace period
// either way, since a job whose group is already gone may have left
// processes in sessions of their own.
//
// Protocol on the guard's stdin, one line each: "p", "k TOKEN".
//
// Both the guard and its jobs open the FIFO read-write, so neither ever
// blocks in open(2), even with the other side gone. POSIX leaves O_RDWR on
// a FIFO undefined; Linux defines it as used here (fifo(7)). On a node
// where the guard cannot start, jobs carry their own watcher.
type guard struct {
	pid string // the guard shell's pid on the node
	dir string // its directory on the node

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

// guardScript is the guard's program: POSIX sh, run by sh whatever the
// login shell, with builtins only per job (mkdir, mkfifo, rm and sleep run
// once per connection, or per killed job). name is the last element of
// its directory, made under $TMPDIR (or /tmp). drain uses variables of its
// own (i, j, q, e): sh has no locals, and the loop's o and t must survive
// it.
func guardScript(graceSeconds int, name string) string {
	g := strconv.Itoa(max(graceSeconds, 0))
	script := `trap '' HUP INT TERM PIPE; d=${TMPDIR:-/tmp}/` + name + `
mkdir -m 700 "$d" && mkfifo -m 600 "$d/q" && : >"$d/up" && exec 4<>"$d/q" || { rm -rf "$d"; exit 1; }
printf '` + guardHello + ` %s %s\n' $$ "$d"; exec >/dev/null 2>&1; p=' ' k=' '
S() { ` + killMarked(`$1`, `"^`+markVar+`=`+name+`:$2\$"`) + `; }
end() { kill -TERM -$1; S TERM $2; (sleep ` + g + `; kill -KILL -$1; S KILL $2) & }
drain() {
  echo e >&4
  while read -r i j <&4 && [ "$i" != e ]; do case $k in *" $j "*) end $i $j;; *) p="$p$j:$i ";; esac; done
  q=' '; for e in $p; do kill -0 ${e#*:} && q="$q$e "; done; p=$q
}
while read -r o t; do case $o in
  p) drain;;
  k) drain; case $p in *" $t:"*) n=${p#* $t:}; end ${n%% *} $t;; *) k="$k$t "; S TERM $t; (sleep ` + g + `; S KILL $t) &;; esac;;
esac; done
rm -f "$d/up"; drain; rm -rf "$d"
[ "$p" = ' ' ] || { for e in $p; do kill -TERM -${e#*:}; S TERM ${e%%:*}; done; sleep ` + g + `; for e in $p; do kill -KILL -${e#*:}; S KILL ${e%%:*}; done; }`
	return "exec sh -c " + shquote.Quote(script)
}

// startGuard opens a guard session on client and waits until it is ready.
func startGuard(client *ssh.Client, graceSeconds int) (*guard, error) {
	var rb [8]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, fmt.Errorf("guard session: %w", err)
	}
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
	if err := sess.Start(guardScript(graceSeconds, "drove-guard."+hex.EncodeToString(rb[:]))); err != nil {
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
	g := &guard{pid: pid, dir: dir, stdin: stdin, gone: make(chan struct{})}
	go func() {
		_, _ = io.Copy(io.Discard, out)
		_ = sess.Wait()
		close(g.gone)
	}()
	return g, nil
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
	tok = g.next.Add(1)
	g.mu.Lock()
	g.started++
	if g.started >= drainEvery {
		g.drainLocked()
	}
	g.mu.Unlock()
	t := strconv.FormatInt(tok, 10)
	return tok, `{ echo "$$ ` + t + `" >&5 && [ -e ` + shquote.Quote(g.dir+"/up") + ` ] && kill -0 ` + g.pid + `; } ` +
		`2>/dev/null 5<>` + shquote.Quote(g.dir+"/q") + ` || kill -KILL $$; exec </dev/null; ` +
		markVar + `=` + path.Base(g.dir) + `:` + t + `; export ` + markVar + `; ` + jobCommand(job)
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
