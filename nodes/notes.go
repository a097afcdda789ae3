package nodes

import (
	"io"
	"sync"
)

// notes serialises what a Dialer writes for the user: Options.Logf notes
// and ProxyCommand stderr, one call at a time, and remembers the notes given
// once.
type notes struct {
	logf   func(format string, args ...any) // nil = discard
	stderr io.Writer                        // nil = discard

	mu   sync.Mutex
	seen map[string]bool
}

// printf sends one note to logf.
func (n *notes) printf(format string, args ...any) {
	if n.logf == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.logf(format, args...)
}

// once sends a note the first time key is seen.
func (n *notes) once(key, format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen[key] {
		return
	}
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	n.seen[key] = true
	if n.logf != nil {
		n.logf(format, args...)
	}
}

// proxyStderr is where ProxyCommand stderr lines go, one line per write;
// nil when they are discarded.
func (n *notes) proxyStderr() io.Writer {
	if n.stderr == nil {
		return nil
	}
	return writerFunc(func(p []byte) (int, error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.stderr.Write(p)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
