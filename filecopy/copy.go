package filecopy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// FilesInFlight is how many files (and links) of one directory are copied
// at once on one node's session: SFTP answers each request in turn, so
// pipelining the requests of several small files hides the round trips.
const FilesInFlight = 16

// DefaultFanout is how many nodes are copied at once when Options.Fanout
// is 0: pdcp's default.
const DefaultFanout = 32

// Node is one node to copy to or from.
type Node struct {
	// Name labels the node in results; pulling, it also names the node's
	// directory under the destination.
	Name string
	// Dial opens the node's SSH connection; nil means this machine, copied
	// without SSH.
	Dial func(ctx context.Context) (*ssh.Client, error)
	// Open, when Dial is nil, opens the node's SFTP stream some other way
	// (through a drove gateway): the SFTP protocol's bytes both ways,
	// closed by the copy when it is done. A read that ends before the copy
	// closed the stream means the node is lost (ErrConnectionLost); an
	// error other than io.EOF says why, and is reported with it. The
	// opener watches the node's connection; Keepalive* are not used.
	Open func(ctx context.Context) (io.ReadWriteCloser, error)
	// Redo, when set, is asked about a copy of the node that its stream
	// (Open) broke under, or that could not start SFTP on it: err is why
	// the stream's reads or writes failed. true says the way to the node
	// was lost (a gateway), not the node: its copy is then done again,
	// whole, over a new stream (Open again), as if the broken one had
	// never been (see redo.go). Never asked once the copy is being
	// interrupted. Redo bounds the redos: it must say true only for a
	// way that the next Open will not take again.
	Redo func(err error) bool
	// KeepaliveInterval and KeepaliveCountMax: a keepalive every interval,
	// and the connection is closed (the node fails) when one goes unanswered
	// for interval*count. Interval 0 sends none.
	KeepaliveInterval time.Duration
	KeepaliveCountMax int
}

// Options say what to copy.
type Options struct {
	// Sources are this machine's paths (Push) or the nodes' paths (Pull).
	Sources []string
	// Dest, pushing, is the nodes' path: a directory when it exists as
	// one, ends in "/" or there are several sources (created as needed;
	// each source lands in it under its base name), else the name the
	// single source is copied to. Pulling, it is this machine's directory
	// holding one directory per node, DEST/NODE/, each holding the
	// sources under their base names.
	Dest string
	// Fanout is how many nodes are copied at once (0 = DefaultFanout).
	Fanout int
	// Drain, when closed, stops the copy at the next file: nodes not
	// started are not started, and each running node finishes its current
	// file. Closing ctx instead closes the connections at once.
	Drain <-chan struct{}
	// NodeDone, if set, is called once per node when it is done, from one
	// goroutine at a time.
	NodeDone func(NodeResult)
}

// NodeResult is what was copied to or from one node, and what failed.
type NodeResult struct {
	Node               string
	Files, Dirs, Links int
	Bytes              int64
	Errors             []*Error
	// Unreachable: no connection (or no SFTP session) could be opened.
	Unreachable bool
	// Interrupted: Drain or ctx stopped the node before it finished.
	Interrupted bool
}

// local reports whether n is this machine, copied without SSH.
func (n *Node) local() bool { return n.Dial == nil && n.Open == nil }

// OK reports whether everything of this node was copied.
func (r *NodeResult) OK() bool { return len(r.Errors) == 0 && !r.Interrupted }

// Summary is the result of a copy: one NodeResult per node, in the order
// the nodes were given.
type Summary struct {
	Nodes       []NodeResult
	Interrupted bool
}

// Failed is how many nodes did not get everything copied.
func (s *Summary) Failed() int {
	n := 0
	for i := range s.Nodes {
		if !s.Nodes[i].OK() {
			n++
		}
	}
	return n
}

// Error is one failure on one node: Path is the node's path it concerns
// (pushing, the destination; pulling, the source), "" for the node as a
// whole (unreachable, connection lost, interrupted).
type Error struct {
	Node string
	Path string
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %v", e.Node, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", e.Node, QuoteName(e.Path), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// InputError is bad input found before anything is copied: a source that
// does not exist, names that would collide, an unusable destination.
type InputError struct {
	Path string
	Err  error
}

func (e *InputError) Error() string {
	return fmt.Sprintf("filecopy: %s: %v", QuoteName(e.Path), e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// ErrInterrupted is the error of a node that Drain or ctx stopped.
var ErrInterrupted = errors.New("interrupted")

// ErrConnectionLost is the error of a node whose connection died mid-copy.
var ErrConnectionLost = errors.New("connection lost")

// Push copies opts.Sources from this machine to opts.Dest on every node.
// It returns an *InputError, before copying anything, when a source is
// missing or two sources share a base name; every other failure is in the
// Summary.
func Push(ctx context.Context, nodes []Node, opts Options) (Summary, error) {
	if err := checkSources(opts.Sources, filepath.Base, true); err != nil {
		return Summary{}, err
	}
	if opts.Dest == "" {
		return Summary{}, &InputError{Path: opts.Dest, Err: errors.New("empty destination")}
	}
	if err := checkNotInside(nodes, opts.Sources, opts.Dest); err != nil {
		return Summary{}, err
	}
	return fanOut(ctx, nodes, opts, func(ctx context.Context, n Node, nfs FS, t *tree) {
		t.src, t.dst = osFS{}, nfs
		pushNode(t, opts)
	}), nil
}

// Pull copies opts.Sources from every node to opts.Dest/NODE/ on this
// machine. It returns an *InputError, before copying anything, when a
// source has no usable base name, two share one, or Dest cannot be made a
// directory; every other failure is in the Summary.
func Pull(ctx context.Context, nodes []Node, opts Options) (Summary, error) {
	if err := checkSources(opts.Sources, path.Base, false); err != nil {
		return Summary{}, err
	}
	if err := checkNotInside(nodes, opts.Sources, opts.Dest); err != nil {
		return Summary{}, err
	}
	if err := os.MkdirAll(opts.Dest, 0o755); err != nil {
		return Summary{}, &InputError{Path: opts.Dest, Err: err}
	}
	seen := map[string]string{}
	for _, n := range nodes {
		d := dirName(n.Name)
		if other, ok := seen[d]; ok {
			return Summary{}, &InputError{Path: n.Name, Err: fmt.Errorf("node directory %q is also node %s's", d, other)}
		}
		seen[d] = n.Name
	}
	return fanOut(ctx, nodes, opts, func(ctx context.Context, n Node, nfs FS, t *tree) {
		t.src, t.untrusted = nfs, true
		pullNode(t, n, opts)
	}), nil
}

// checkSources refuses sources whose base names are unusable or collide.
// local: the sources are this machine's and must exist.
func checkSources(srcs []string, base func(string) string, local bool) error {
	if len(srcs) == 0 {
		return &InputError{Err: errors.New("no source")}
	}
	seen := map[string]bool{}
	for _, s := range srcs {
		if s == "" {
			return &InputError{Path: s, Err: errors.New("empty source")}
		}
		b := s
		if local {
			if _, err := os.Lstat(s); err != nil {
				return &InputError{Path: s, Err: err}
			}
			if abs, err := filepath.Abs(s); err == nil {
				b = abs
			}
		}
		b = base(b)
		if checkName(b) != nil {
			return &InputError{Path: s, Err: errors.New("no name to copy it under: name the directory itself")}
		}
		if seen[b] {
			return &InputError{Path: s, Err: fmt.Errorf("another source is also named %q", b)}
		}
		seen[b] = true
	}
	return nil
}

// checkNotInside refuses, when this machine is one of the nodes, a
// destination inside a source (or the source itself): the copy would read
// what it writes, without end. Paths are compared absolute and cleaned,
// with symbolic links in their existing parts resolved.
func checkNotInside(nodes []Node, srcs []string, dest string) error {
	local := false
	for _, n := range nodes {
		local = local || n.local()
	}
	if !local {
		return nil
	}
	d := resolved(dest)
	for _, s := range srcs {
		sr := resolved(s)
		if d == sr || strings.HasPrefix(d, strings.TrimSuffix(sr, string(os.PathSeparator))+string(os.PathSeparator)) {
			return &InputError{Path: s, Err: fmt.Errorf("the destination %s is inside it, on this machine (':')", QuoteName(dest))}
		}
	}
	return nil
}

// resolved is p absolute and cleaned, with symbolic links resolved in the
// longest part of it that exists.
func resolved(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// dirName is a node's directory name under a pull's destination: its name,
// with anything that is not one path element replaced.
func dirName(node string) string {
	if checkName(node) == nil {
		return node
	}
	r := strings.NewReplacer("/", "_", "\\", "_", "\x00", "_")
	d := r.Replace(node)
	if d == "" || d == "." || d == ".." {
		d = "_" + d
	}
	return d
}

func pushNode(t *tree, opts Options) {
	dest := opts.Dest
	t.clean()
	// The decision stands for the node's redos: this copy's mkdir may
	// have made dest a directory.
	toDir := t.again.destIsDir(func() (bool, bool) {
		if len(opts.Sources) > 1 || strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, string(os.PathSeparator)) {
			return true, true
		}
		fi, err := t.dst.Stat(dest)
		if err != nil {
			return false, errors.Is(err, fs.ErrNotExist)
		}
		return fi.IsDir(), true
	})
	parent := dirOf(strings.TrimRight(dest, "/"))
	if toDir {
		parent = dest
	}
	if parent != "" {
		if err := mkdirAll(t.dst, parent); err != nil {
			t.fail(parent, err)
			return
		}
	}
	for _, s := range opts.Sources {
		fi, err := os.Lstat(s)
		if err != nil {
			t.fail(s, err)
			continue
		}
		target := dest
		if toDir {
			abs, _ := filepath.Abs(s)
			target = t.dst.Join(dest, filepath.Base(abs))
		}
		if t.copyEntry(s, fi, target) != nil {
			return
		}
	}
}

// mkdirAll creates dir and its missing parents (mode 0755), as mkdir -p.
func mkdirAll(f FS, dir string) error {
	if fi, err := f.Stat(dir); err == nil {
		if fi.IsDir() {
			return nil
		}
		return errors.New("exists and is not a directory")
	}
	if p := dirOf(strings.TrimRight(dir, "/")); p != "" && p != dir {
		if err := mkdirAll(f, p); err != nil {
			return err
		}
	}
	if err := f.Mkdir(dir); err != nil {
		if fi, serr := f.Stat(dir); serr == nil && fi.IsDir() {
			return nil
		}
		return err
	}
	return f.Chmod(dir, 0o755)
}

func pullNode(t *tree, n Node, opts Options) {
	dir := filepath.Join(opts.Dest, dirName(n.Name))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		t.fail("", err)
		return
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.fail("", err)
		return
	}
	defer root.Close()
	t.dst = rootFS{root}
	t.clean()
	for _, s := range opts.Sources {
		fi, err := t.src.Lstat(s)
		if err != nil {
			t.fail(s, err)
			continue
		}
		base := path.Base(s)
		if n.local() {
			base = filepath.Base(s)
		}
		if t.copyEntry(s, fi, base) != nil {
			return
		}
	}
}

// fanOut runs each node's copy, at most opts.Fanout at once.
func fanOut(ctx context.Context, nodes []Node, opts Options, copyNode func(context.Context, Node, FS, *tree)) Summary {
	fan := opts.Fanout
	if fan <= 0 {
		fan = DefaultFanout
	}
	sum := Summary{Nodes: make([]NodeResult, len(nodes))}
	sem := make(chan struct{}, fan)
	var wg sync.WaitGroup
	var doneMu sync.Mutex
	done := func(r NodeResult) {
		if opts.NodeDone != nil {
			doneMu.Lock()
			opts.NodeDone(r)
			doneMu.Unlock()
		}
	}
	for i, n := range nodes {
		res := &sum.Nodes[i]
		res.Node = n.Name
		select {
		case sem <- struct{}{}:
		case <-opts.Drain:
		case <-ctx.Done():
		}
		if stopped(ctx, opts.Drain) {
			res.Interrupted = true
			res.Errors = append(res.Errors, &Error{Node: n.Name, Err: fmt.Errorf("%w before it started", ErrInterrupted)})
			done(*res)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			runNode(ctx, n, opts, res, copyNode)
			done(*res)
		}()
	}
	wg.Wait()
	sum.Interrupted = stopped(ctx, opts.Drain)
	return sum
}

func stopped(ctx context.Context, drain <-chan struct{}) bool {
	select {
	case <-drain:
		return true
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// attempt opens the node, copies and closes it once, recording into res;
// again carries what a redo of the node's copy needs from the copies
// before. It returns why the node could not be opened (nil: it was).
func attempt(ctx context.Context, n Node, opts Options, res *NodeResult, copyNode func(context.Context, Node, FS, *tree), again *redo) error {
	var mu sync.Mutex // res and lost, from the node's file copies in flight
	lost := false
	lostErr := func() error { return ErrConnectionLost }
	fail := func(p string, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Errors = append(res.Errors, &Error{Node: n.Name, Path: p, Err: err})
		// The SFTP client fails every request once the connection is gone,
		// before the connection's own end is noticed: the node is lost
		// now, and no other file is tried.
		if p != "" && !lost && errors.Is(err, sftp.ErrSSHFxConnectionLost) && ctx.Err() == nil {
			lost = true
			res.Errors = append(res.Errors, &Error{Node: n.Name, Err: lostErr()})
		}
	}
	var nfs FS = osFS{}
	var dead <-chan struct{}
	if !n.local() {
		s, err := openSession(ctx, n)
		if err != nil {
			res.Unreachable = !stopped(ctx, opts.Drain)
			res.Interrupted = !res.Unreachable
			fail("", err)
			return err
		}
		defer s.close()
		nfs, dead = sftpFS{s.sftp}, s.dead
		lostErr = s.lostErr()
	}
	t := &tree{res: res, mu: &mu, fail: fail, sem: make(chan struct{}, FilesInFlight), again: again}
	defer again.keep(t)
	t.stop = func() bool {
		mu.Lock()
		defer mu.Unlock()
		if lost || res.Interrupted {
			return true
		}
		// A cancelled ctx closed the connection itself: interrupted, not lost.
		select {
		case <-dead:
			if ctx.Err() == nil {
				lost = true
				res.Errors = append(res.Errors, &Error{Node: n.Name, Err: lostErr()})
				return true
			}
		default:
		}
		if stopped(ctx, opts.Drain) {
			res.Interrupted = true
			res.Errors = append(res.Errors, &Error{Node: n.Name, Err: ErrInterrupted})
			return true
		}
		return false
	}
	copyNode(ctx, n, nfs, t)
	t.stop() // a connection that died after the last file still failed it
	return nil
}
