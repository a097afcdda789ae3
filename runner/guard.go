package runner

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"

	"golang.org/x/crypto/ssh"
)

// guard is one long-lived session per SSH connection whose shell kills the
// process groups of that connection's jobs when its stdin ends — when drove
// closes the connection, dies, or the connection drops. It replaces the
// per-job watcher of remoteCommand, which cost one fork of the login shell
// per job on the node.
//
// A guarded job first tells drove its process group (its shell's pid: sshd
// makes every session a process group of its own) on stderr, then waits for
// drove's acknowledgement on stdin before it runs anything. drove registers
// the group with the guard before it acknowledges, so no job runs
// unregistered: if the connection drops first, the job's read fails and it
// kills itself. When a job ends drove unregisters it; to kill one job
// (timeout, second Ctrl-C) drove asks the guard, which sends TERM to its
// group and KILL after the grace period.
//
// Protocol on the guard's stdin, one line each: "+ PGID", "- PGID",
// "k PGID".
type guard struct {
	mu    sync.Mutex
	stdin io.WriteCloser
	sess  *ssh.Session
}

// guardScript is the guard's command (POSIX sh, builtins only until the
// connection ends).
func guardScript(graceSeconds int) string {
	g := strconv.Itoa(max(graceSeconds, 0))
	return `trap '' HUP INT TERM PIPE; exec >/dev/null 2>&1; p=' '; ` +
		`while read -r o n; do case $o in ` +
		`+) p="$p$n ";; ` +
		`-) case $p in *" $n "*) p="${p%% $n *} ${p#* $n }";; esac;; ` +
		`k) kill -TERM -$n; (sleep ` + g + `; kill -KILL -$n) & ;; ` +
		`esac; done; ` +
		`[ "$p" = ' ' ] || { for n in $p; do kill -TERM -$n; done; sleep ` + g + `; for n in $p; do kill -KILL -$n; done; }`
}

// startGuard opens the guard session on client.
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
	if err := sess.Start(guardScript(graceSeconds)); err != nil {
		sess.Close()
		return nil, fmt.Errorf("guard session: %w", err)
	}
	return &guard{stdin: stdin, sess: sess}, nil
}

// send writes one protocol line.
func (g *guard) send(op byte, pgid int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, err := fmt.Fprintf(g.stdin, "%c %d\n", op, pgid)
	return err
}

// guardedCommand is a job for a connection with a guard: announce the
// process group, wait for the acknowledgement (or die if it never comes),
// then run the job in the login shell with stdin from /dev/null, and pass
// its status on as remoteCommand does.
func guardedCommand(job string) string {
	return `echo ` + pgidMarker + ` $$ >&2; read -r _ || kill -KILL $$; exec </dev/null` + "\n" + job + "\n" + reraise
}

// pgidMarker starts the line a guarded job writes first on stderr.
const pgidMarker = "drove-pgid"

// markerFilter passes a guarded job's stderr on, taking out the line that
// announces its process group and calling found with it. Lines before it
// (a login shell's noise) pass through.
type markerFilter struct {
	next  io.Writer
	buf   []byte
	done  bool
	found func(pgid int)
}

func (f *markerFilter) Write(p []byte) (int, error) {
	if f.done {
		return f.next.Write(p)
	}
	f.buf = append(f.buf, p...)
	for !f.done {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			if len(f.buf) > 64<<10 { // no marker: give up, pass it all on
				f.done = true
				_, _ = f.next.Write(f.buf)
				f.buf = nil
			}
			return len(p), nil
		}
		line := f.buf[:i]
		if rest, ok := bytes.CutPrefix(line, []byte(pgidMarker+" ")); ok {
			if pgid, err := strconv.Atoi(string(rest)); err == nil && pgid > 1 {
				f.done = true
				tail := f.buf[i+1:]
				f.buf = nil
				f.found(pgid)
				if len(tail) > 0 {
					_, _ = f.next.Write(tail)
				}
				return len(p), nil
			}
		}
		_, _ = f.next.Write(f.buf[:i+1])
		f.buf = f.buf[i+1:]
	}
	return len(p), nil
}

// ReadFrom lets io.Copy (x/crypto/ssh's stderr copy) hand the stream over
// once the marker is through, so the pooled buffers of LineWriter are used.
func (f *markerFilter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	buf := make([]byte, 512)
	for !f.done {
		n, err := r.Read(buf)
		total += int64(n)
		if n > 0 {
			_, _ = f.Write(buf[:n])
		}
		if err == io.EOF {
			if len(f.buf) > 0 {
				_, _ = f.next.Write(f.buf)
				f.buf = nil
			}
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	if rf, ok := f.next.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(r)
		return total + n, err
	}
	n, err := io.Copy(f.next, r)
	return total + n, err
}
