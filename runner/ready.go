package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// A job's command over SSH starts with readyPrefix: before anything of
// the wrapper runs, the login shell writes a ready mark, a line holding a
// token of the job's own, on the session's stderr. Its redirection of
// stderr to /dev/null (printf writes on the stdout it was given, the
// session's stderr) is one a restricted shell (rbash) refuses: such a
// shell writes no mark and the command ends there, before the job. A
// shell that does not understand it (csh, fish) or runs no command at all
// (tclsh as login shell, a ForceCommand menu reading stdin) writes no mark
// either. The mark costs no round trip: the job runs at once, and the mark
// travels ahead of its output. readyFilter takes it out of the job's
// stderr.
//
// readyPrefix is not part of RemoteCommand: what a wrapper runs, and how,
// is the same with or without it.
func readyPrefix(token string) string {
	return `printf '%s\n' ` + readyWord + token + ` >&2 2>/dev/null || exit 126; `
}

// readyToken returns a job's token: it only has to differ from what a
// login shell may write before the mark, so math/rand's per-thread
// generator does (no system call per job).
func readyToken() string { return strconv.FormatUint(rand.Uint64(), 36) }

// readyWord starts the ready mark; the rest is the job's token.
const readyWord = "drove-ready:"

// DefaultReadyTimeout is how long a session may go without its ready mark
// when SSHOptions.ReadyTimeout is 0 (the default ConnectTimeout).
const DefaultReadyTimeout = 10 * time.Second

// LoginShellError is a node whose login shell (or ForceCommand) did not
// run drove's wrapper: it wrote no ready mark within the wait, or ended
// without one and with a failure. Jobs need a POSIX sh there (sh, dash,
// bash, ksh, zsh) that may redirect output.
type LoginShellError struct {
	Restricted bool          // it said "restricted" (rbash and the like)
	Said       string        // the first line it wrote on stderr, if any
	Waited     time.Duration // how long drove waited for the mark; 0 when the session ended first
}

func (e *LoginShellError) Error() string {
	var b strings.Builder
	if e.Restricted {
		b.WriteString("the login shell is restricted (rbash?) and refused drove's wrapper; drove needs a POSIX sh that may redirect output")
	} else {
		b.WriteString("the login shell did not run drove's wrapper; drove needs a POSIX sh")
	}
	if e.Waited > 0 {
		fmt.Fprintf(&b, " (no sign of it after %s: a shell or ForceCommand reading its input?)", e.Waited)
	}
	if e.Said != "" {
		fmt.Fprintf(&b, "; it said %q", e.Said)
	}
	return b.String()
}

// readyFilter is a session's stderr: it holds back what comes before the
// ready mark (only the login shell can write then), drops the mark, and
// from there passes every byte on to w unchanged, without copying. What
// it held back goes to w before the job's first byte, or at finish when
// the mark never came. Write is called from one goroutine (the session's
// stderr copy); state is shared with the ready timer.
type readyFilter struct {
	w     io.Writer
	mark  []byte // readyWord, token, newline
	state atomic.Int32
	held  []byte // before the mark, up to len(mark)-1 bytes of a partial mark included
	head  []byte // the first bytes before the mark, for LoginShellError.Said
	buf   [256]byte
}

const (
	markPending int32 = iota
	markSeen
	markMissed // the wait for the mark ran out
)

// readyHold bounds what the filter holds while looking for the mark; older
// bytes are passed on.
const readyHold = 4 << 10

func newReadyFilter(w io.Writer, token string) *readyFilter {
	if w == nil {
		w = io.Discard
	}
	return &readyFilter{w: w, mark: []byte(readyWord + token + "\n")}
}

func (f *readyFilter) Write(p []byte) (int, error) {
	if len(f.held) == 0 && f.state.Load() == markSeen {
		return f.w.Write(p)
	}
	if len(f.head) < 256 {
		f.head = append(f.head, p[:min(len(p), 256-len(f.head))]...)
	}
	f.held = append(f.held, p...)
	if i := bytes.Index(f.held, f.mark); i >= 0 {
		f.state.CompareAndSwap(markPending, markSeen)
		before, after := f.held[:i], f.held[i+len(f.mark):]
		f.held = nil
		if err := f.pass(before); err != nil {
			return len(p), err
		}
		return len(p), f.pass(after)
	}
	if keep := len(f.mark) - 1; len(f.held) > readyHold {
		old := f.held[:len(f.held)-keep]
		f.held = append([]byte(nil), f.held[len(f.held)-keep:]...)
		return len(p), f.pass(old)
	}
	return len(p), nil
}

// ReadFrom copies r through the filter (x/crypto/ssh's io.Copy of a
// session's stderr comes here): a small buffer until the mark, then r
// straight to w, through w's own ReadFrom when it has one (LineWriter
// lends a buffer of its Output's), so no session allocates a copy buffer.
// Write must not be called meanwhile.
func (f *readyFilter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	if !f.seen() {
		for !f.seen() {
			n, err := r.Read(f.buf[:])
			if n > 0 {
				total += int64(n)
				if _, werr := f.Write(f.buf[:n]); werr != nil {
					return total, werr
				}
			}
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			if err != nil {
				return total, err
			}
		}
	}
	n, err := io.Copy(f.w, r)
	return total + n, err
}

func (f *readyFilter) pass(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := f.w.Write(b)
	return err
}

// seen reports whether the mark has come.
func (f *readyFilter) seen() bool { return f.state.Load() == markSeen }

// missed reports whether the wait for the mark ran out first.
func (f *readyFilter) missed() bool { return f.state.Load() == markMissed }

// miss marks the wait as run out, unless the mark came first, and reports
// whether it did.
func (f *readyFilter) miss() bool { return f.state.CompareAndSwap(markPending, markMissed) }

// finish passes on what is still held, once the session's output has
// ended and the job's outcome is its own.
func (f *readyFilter) finish() error {
	b := f.held
	f.held = nil
	return f.pass(b)
}

// refusal returns the node's error for a session that ended without the
// mark, or waited for it in vain; only once the session's output has
// ended.
func (f *readyFilter) refusal(waited time.Duration) *LoginShellError {
	said, _, _ := strings.Cut(string(f.head), "\n")
	return &LoginShellError{
		Restricted: strings.Contains(string(f.head), "restricted"),
		Said:       strings.TrimSpace(said),
		Waited:     waited,
	}
}
