package filecopy

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sort"
	"sync"
)

// A node's copy done again: when the node's stream (Node.Open) breaks
// under its copy and Node.Redo says the way to the node was lost (a
// gateway), not the node, the node's copy is done again from the start,
// over a new stream, in the same slot of the fan-out. A redo writes every
// file again (under a temporary name, then renamed over the real one, as
// always), first removing the temporary files the broken copy may have
// left; it takes the broken copy's decision of whether the destination
// is a directory, which that copy's own mkdir may have changed. So a
// node's result is what one unbroken copy gives: the same files, modes,
// mtimes and links, counts and failures; what the broken copy reported
// is dropped.

// redo is what a node's next copy needs from the ones before it.
type redo struct {
	// toDir is a push's decision, made once per node: the destination is
	// a directory to copy into (1) or the name to copy to (2); 0 before it
	// is made.
	toDir int8
	// leftover is the temporary names the copies before may have left on
	// the destination: made (or asked for) and neither renamed nor removed.
	leftover []string
}

// runNode copies node n into res, again as long as its stream breaks and
// n.Redo says the way to it was lost.
func runNode(ctx context.Context, n Node, opts Options, res *NodeResult, copyNode func(context.Context, Node, FS, *tree)) {
	var again redo
	for {
		m, w := n, (*wayWatch)(nil)
		if n.Redo != nil && n.Dial == nil && n.Open != nil {
			w = &wayWatch{}
			m.Open = w.open(n.Open)
		}
		broke := attempt(ctx, m, opts, res, copyNode, &again)
		if broke == nil && w != nil {
			broke = w.failure()
		}
		if broke == nil || res.OK() || n.Redo == nil || stopped(ctx, opts.Drain) || !n.Redo(broke) {
			return
		}
		*res = NodeResult{Node: res.Node}
	}
}

// wayWatch keeps the first error of a node's stream's reads and writes
// before the copy closed it: why the stream broke.
type wayWatch struct {
	mu     sync.Mutex
	closed bool
	err    error
}

// open is opener, its stream watched by w.
func (w *wayWatch) open(opener func(context.Context) (io.ReadWriteCloser, error)) func(context.Context) (io.ReadWriteCloser, error) {
	return func(ctx context.Context) (io.ReadWriteCloser, error) {
		rwc, err := opener(ctx)
		if err != nil {
			return nil, err
		}
		return &watchedWay{rwc: rwc, w: w}, nil
	}
}

// failed keeps err when it is the stream's first and the copy has not
// closed it.
func (w *wayWatch) failed(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil && !w.closed {
		w.err = err
	}
}

// failure is why the stream broke (nil: it did not).
func (w *wayWatch) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// watchedWay is a node's stream whose failures its wayWatch keeps.
type watchedWay struct {
	rwc io.ReadWriteCloser
	w   *wayWatch
}

func (s *watchedWay) Read(p []byte) (int, error) {
	n, err := s.rwc.Read(p)
	if err != nil {
		s.w.failed(err)
	}
	return n, err
}

func (s *watchedWay) Write(p []byte) (int, error) {
	n, err := s.rwc.Write(p)
	if err != nil {
		s.w.failed(err)
	}
	return n, err
}

func (s *watchedWay) Close() error {
	s.w.mu.Lock()
	s.w.closed = true
	s.w.mu.Unlock()
	return s.rwc.Close()
}

// keep records, once t's copy is over, the temporary names it leaves.
func (r *redo) keep(t *tree) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r.leftover = r.leftover[:0]
	for p := range t.temps {
		r.leftover = append(r.leftover, p)
	}
	sort.Strings(r.leftover)
}

// destIsDir is a push's decision of whether the destination is a
// directory: the first copy's, decide's the first time (ok: the answer
// is sure, and kept for the redos).
func (r *redo) destIsDir(decide func() (dir, ok bool)) bool {
	if r.toDir != 0 {
		return r.toDir == 1
	}
	dir, ok := decide()
	if ok {
		r.toDir = 2
		if dir {
			r.toDir = 1
		}
	}
	return dir
}

// clean removes what the copies before left under temporary names on t's
// destination. A name that cannot be removed (but is not gone) is the
// node's failure, and is tried again by a later redo.
func (t *tree) clean() {
	for _, p := range t.again.leftover {
		if err := t.dst.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.track(p)
			t.fail(p, err)
		}
	}
	t.again.leftover = nil
}

// track records tmp, a temporary name about to be made on the
// destination, until untrack: a copy that breaks meanwhile leaves it.
func (t *tree) track(tmp string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.temps == nil {
		t.temps = map[string]bool{}
	}
	t.temps[tmp] = true
}

// untrack forgets tmp: it was renamed or removed.
func (t *tree) untrack(tmp string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.temps, tmp)
}
