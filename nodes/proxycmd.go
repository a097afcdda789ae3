package nodes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"
)

// ProxyCommandError reports a ProxyCommand that ended (or could not start)
// before drove's SSH connection over it was established. It is the Err of a
// *DialError and never retryable.
type ProxyCommandError struct {
	Command string
	Err     error  // from starting or waiting for the command, e.g. *exec.ExitError; nil if still running
	Stderr  string // the last lines it wrote to stderr, trimmed
}

func (e *ProxyCommandError) Error() string {
	msg := "ProxyCommand " + fmt.Sprintf("%q", e.Command)
	switch {
	case e.Err != nil:
		msg += " failed: " + e.Err.Error()
	default:
		msg += " closed the connection"
	}
	if e.Stderr != "" {
		msg += " (stderr: " + e.Stderr + ")"
	}
	return msg
}

func (e *ProxyCommandError) Unwrap() error { return e.Err }

// proxyKillGrace is how long a ProxyCommand has to exit after SIGHUP (what
// ssh sends it) before it is killed.
const proxyKillGrace = time.Second

// proxyConn is a net.Conn over a ProxyCommand's stdin and stdout. Close
// hangs up the command's process group, kills it if it lingers, and reaps it.
type proxyConn struct {
	cmd     *exec.Cmd
	watch   *proxyWatch // leads the command's process group (proxycmd_unix.go)
	command string
	in      *os.File // the command's stdin (we write)
	out     *os.File // the command's stdout (we read)
	stderr  *tailWriter
	done    chan struct{} // closed when the command has exited
	waitErr error         // valid after done

	closeOnce sync.Once
}

type proxyAddr string

func (a proxyAddr) Network() string { return "proxycommand" }
func (a proxyAddr) String() string  { return string(a) }

// startProxyCommand runs command as ssh does, "exec COMMAND" with sh -c (so
// "a; b" runs only a, as with ssh), in a process group of its own led by a
// watchdog that kills the group when drove closes the connection or dies
// (proxywatch.sh), stdin and stdout connected to the returned conn and
// stderr copied to stderr (nil = discarded), each line prefixed with
// "node: ".
func startProxyCommand(command, node string, stderr io.Writer) (*proxyConn, error) {
	watch, err := startProxyWatch()
	if err != nil {
		return nil, &ProxyCommandError{Command: command, Err: err}
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		watch.stop()
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		watch.stop()
		return nil, err
	}
	tail := &tailWriter{prefix: node + ": ", w: stderr}
	cmd := exec.Command("/bin/sh", "-c", "exec "+command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, tail
	// The watchdog's group, so Close (or the watchdog, when drove dies)
	// can end its children too; on Linux also Pdeathsig (proxycmd_*.go).
	cmd.SysProcAttr = proxySysProcAttr(watch)
	cmd.WaitDelay = proxyKillGrace
	if err := cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		watch.stop()
		return nil, &ProxyCommandError{Command: command, Err: err}
	}
	inR.Close()
	outW.Close()
	c := &proxyConn{cmd: cmd, watch: watch, command: command, in: inW, out: outR, stderr: tail, done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		tail.flush()
		close(c.done)
	}()
	return c, nil
}

func (c *proxyConn) Read(p []byte) (int, error)  { return c.out.Read(p) }
func (c *proxyConn) Write(p []byte) (int, error) { return c.in.Write(p) }
func (c *proxyConn) LocalAddr() net.Addr         { return proxyAddr("drove") }
func (c *proxyConn) RemoteAddr() net.Addr        { return proxyAddr(c.command) }

func (c *proxyConn) SetDeadline(t time.Time) error {
	return errors.Join(c.in.SetWriteDeadline(t), c.out.SetReadDeadline(t))
}
func (c *proxyConn) SetReadDeadline(t time.Time) error  { return c.out.SetReadDeadline(t) }
func (c *proxyConn) SetWriteDeadline(t time.Time) error { return c.in.SetWriteDeadline(t) }

// Close ends the connection: the command's stdin and stdout close, its
// process group gets SIGHUP and, after proxyKillGrace, SIGKILL. Close waits
// until the command and its watchdog have been reaped.
func (c *proxyConn) Close() error {
	c.closeOnce.Do(func() {
		c.in.Close()
		c.out.Close()
		c.watch.hangUp()
		select {
		case <-c.done:
		case <-time.After(proxyKillGrace):
		}
		// The shell may be gone while its children linger in the group.
		c.watch.kill(c.cmd.Process)
		<-c.done
		c.watch.stop()
	})
	return nil
}

// failure describes why the command could not carry the connection: its
// exit status if it has exited (waiting briefly for it, since a broken pipe
// is often seen just before the exit) and its last stderr lines.
func (c *proxyConn) failure() *ProxyCommandError {
	select {
	case <-c.done:
	case <-time.After(100 * time.Millisecond):
	}
	e := &ProxyCommandError{Command: c.command, Stderr: c.stderr.tail()}
	select {
	case <-c.done:
		e.Err = c.waitErr
		if e.Err == nil {
			e.Err = errors.New("exited with status 0")
		}
	default:
	}
	return e
}

// maxStderrTail bounds the stderr kept for error messages.
const maxStderrTail = 512

// tailWriter copies whole lines to w with a prefix and keeps the last bytes
// for messages. A line longer than 4 KiB is written in pieces.
type tailWriter struct {
	prefix string
	w      io.Writer

	mu   sync.Mutex
	line []byte
	last []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = append(t.last, p...)
	if len(t.last) > maxStderrTail {
		t.last = t.last[len(t.last)-maxStderrTail:]
	}
	t.line = append(t.line, p...)
	for {
		i := bytes.IndexByte(t.line, '\n')
		if i < 0 {
			if len(t.line) > 4096 {
				t.emit(append(t.line, '\n'))
				t.line = t.line[:0]
			}
			return len(p), nil
		}
		t.emit(t.line[:i+1])
		t.line = t.line[i+1:]
	}
}

func (t *tailWriter) emit(line []byte) {
	if t.w != nil {
		_, _ = t.w.Write(append([]byte(t.prefix), line...))
	}
}

func (t *tailWriter) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.line) > 0 {
		t.emit(append(t.line, '\n'))
		t.line = nil
	}
}

func (t *tailWriter) tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.last))
}
