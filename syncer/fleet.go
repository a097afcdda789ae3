package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/drove-dev/drove/internal/randhex"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
)

// Node is one machine of the sync.
type Node struct {
	runner.Node
	// Local says the node is this machine (drove's ':'): it sees what drove
	// sees, is not checked, and runs the final pass when there is one.
	Local bool
}

// fleet keeps each node's connection across the runs of one sync (the
// visibility check, the copy, the final pass), so each node is dialled
// once. A node the runner evicted or refused is not used again.
type fleet struct {
	mu     sync.Mutex
	nodes  []Node
	hosts  []runner.Host
	broken []bool
	// rsync is what a copy on each node reported of its rsync
	// (outcome.Rsync), "" until one did.
	rsync []string
	// command, when set, is the text node n runs for a job's text cmd,
	// given what n reported of its rsync (see migration.nodeCommand).
	command func(n Node, rsync, cmd string) string
}

func newFleet(nodes []Node) *fleet {
	return &fleet{nodes: nodes, hosts: make([]runner.Host, len(nodes)), broken: make([]bool, len(nodes)), rsync: make([]string, len(nodes))}
}

// learnRsync records what a copy on the node name reported of its rsync.
func (f *fleet) learnRsync(name, rsync string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, n := range f.nodes {
		if n.Name == name {
			f.rsync[i] = rsync
		}
	}
}

// runnerNodes returns the nodes that pick selects (all when nil) for a
// runner.Run, skipping broken ones.
func (f *fleet) runnerNodes(pick func(Node) bool) []runner.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runner.Node
	for i, n := range f.nodes {
		if f.broken[i] || (pick != nil && !pick(n)) {
			continue
		}
		out = append(out, runner.Node{Name: n.Name, Slots: n.Slots, Connect: func(ctx context.Context) (runner.Host, error) {
			return f.connect(ctx, i)
		}})
	}
	return out
}

func (f *fleet) connect(ctx context.Context, i int) (runner.Host, error) {
	f.mu.Lock()
	h := f.hosts[i]
	f.mu.Unlock()
	if h == nil {
		var err error
		h, err = f.nodes[i].Connect(ctx)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.hosts[i] = h
		f.mu.Unlock()
	}
	return &keptHost{Host: h, f: f, i: i}, nil
}

// markBroken records that the runner evicted or refused the node name.
func (f *fleet) markBroken(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, n := range f.nodes {
		if n.Name == name {
			f.broken[i] = true
		}
	}
}

// local reports whether the node name is Local.
func (f *fleet) local(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.nodes {
		if n.Name == name {
			return n.Local
		}
	}
	return false
}

// close closes every connection.
func (f *fleet) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, h := range f.hosts {
		if h != nil {
			_ = h.Close()
			f.hosts[i] = nil
		}
	}
}

// keptHost is a host whose Close (called by runner.Run at its end) keeps
// the connection for the next run, unless the node is broken.
type keptHost struct {
	runner.Host
	f *fleet
	i int
}

// Run runs what the fleet's command makes of cmd for this node (cmd
// itself when there is none).
func (k *keptHost) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	if k.f.command != nil {
		k.f.mu.Lock()
		rsync := k.f.rsync[k.i]
		k.f.mu.Unlock()
		cmd = k.f.command(k.f.nodes[k.i], rsync, cmd)
	}
	return k.Host.Run(ctx, cmd, stdout, stderr)
}

func (k *keptHost) Close() error {
	k.f.mu.Lock()
	defer k.f.mu.Unlock()
	if !k.f.broken[k.i] || k.f.hosts[k.i] == nil {
		return nil
	}
	h := k.f.hosts[k.i]
	k.f.hosts[k.i] = nil
	return h.Close()
}

// VisibilityError is a node that does not see a path the sync needs (the
// source tree, the destination's parent, the work directory, which must be
// the same storage drove writes to, proven with a probe file), or cannot
// write where it must (DST, the work directory's logs).
type VisibilityError struct {
	Node string
	What string // "SRC", "DST's parent", "work directory"; "DST" or "work directory" with ReadOnly
	Path string
	// ReadOnly: the node sees Path but the user it runs jobs as cannot
	// write there.
	ReadOnly bool
	// ID: the node reported UID, the user it runs jobs as.
	ID  bool
	UID int
	// Fix, when set, is a shell command that, run as root, lets the node
	// write the work directory's logs.
	Fix string
}

// workRO reports whether e is a node that cannot write the work
// directory's logs.
func (e *VisibilityError) workRO() bool { return e.ReadOnly && e.What == "work directory" }

func (e *VisibilityError) Error() string {
	switch {
	case e.ReadOnly:
		user := "the user it runs jobs as"
		if e.ID {
			user += fmt.Sprintf(", uid %d", e.UID)
		}
		s := fmt.Sprintf("sync: node %s cannot write %s %s (as %s)", e.Node, e.What, e.Path, user)
		if e.Fix != "" {
			s += "; as root: " + e.Fix
		}
		return s
	case e.What == "work directory":
		return fmt.Sprintf("sync: node %s does not see the work directory %s drove writes to (it must be shared storage mounted at the same path)", e.Node, e.Path)
	}
	return fmt.Sprintf("sync: node %s does not see %s %s (it must be mounted at the same path on every node)", e.Node, e.What, e.Path)
}

// check runs checkCommand once on every remote node and returns a
// *VisibilityError for the first node (in node order) that fails it. A
// node that cannot be reached is left to the copy run, which reports it.
// When the nodes fail only because they cannot write the logs in WORK,
// drove may give them WORK/log and check again (worklogs.go); when it does
// not, the error of a node that reported its user names the command that
// fixes it.
func (m *migration) check(ctx context.Context) error {
	nodes := m.fleet.runnerNodes(func(n Node) bool { return !n.Local })
	if len(nodes) == 0 {
		return nil
	}
	failed, users, err := m.checkNodes(ctx, nodes)
	if err != nil {
		return err
	}
	gave := false
	if u, ok := m.logsOwner(failed, users); ok {
		if err := m.giveLogs(u); err != nil {
			return err
		}
		gave = true
		if failed, users, err = m.checkNodes(ctx, nodes); err != nil {
			return err
		}
	}
	for _, n := range nodes {
		e := failed[n.Name]
		if e == nil {
			continue
		}
		if u, ok := users[n.Name]; ok {
			e.ID, e.UID = true, u.uid
			if e.workRO() && !gave && sameUser(failed, users, u) {
				e.Fix = logsFix(m.o.Work, len(m.made.dirs) > 0, u, os.Geteuid(), os.Getegid())
			}
		}
		return e
	}
	return nil
}

// sameUser reports whether every node that cannot write the logs
// reported user u.
func sameUser(failed map[string]*VisibilityError, users map[string]nodeUser, u nodeUser) bool {
	for name, e := range failed {
		if e.workRO() && users[name] != u {
			return false
		}
	}
	return true
}

// checkNodes runs checkCommand on nodes: the failures by node, and the
// user each node that answered runs jobs as.
func (m *migration) checkNodes(ctx context.Context, nodes []runner.Node) (map[string]*VisibilityError, map[string]nodeUser, error) {
	token := randhex.String(16)
	probe := filepath.Join(m.o.Work, ".probe-"+token)
	if err := os.WriteFile(probe, []byte(token+"\n"), 0o644); err != nil {
		return nil, nil, fmt.Errorf("sync: work directory: %w", err)
	}
	defer os.Remove(probe)
	dst, dstParent := "", ""
	if !m.o.remoteDst() {
		dst, dstParent = m.o.Dst, filepath.Dir(m.o.Dst)
	}
	failed := map[string]*VisibilityError{}
	var mu sync.Mutex
	users := map[string]nodeUser{}
	rep := runner.Run(ctx, runner.Config{
		Nodes:    nodes,
		EachNode: checkCommand(m.o.nonce, m.o.Src, dst, probe, token),
		JobOutput: func(_ jobs.Job, _ int, node string) (io.Writer, io.Writer, func(error)) {
			p := newOutcomeParser(m.o.nonce)
			return p, nil, func(error) {
				mu.Lock()
				defer mu.Unlock()
				if o := p.outcome; o.ID {
					users[node] = nodeUser{uid: o.UID, gid: o.GID}
				}
			}
		},
		Drain: m.o.Drain,
		Events: func(ev runner.Event) {
			var ee *runner.ExitError
			switch {
			case ev.Kind == runner.NodeRefused:
				m.fleet.markBroken(ev.Node)
			case ev.Kind != runner.JobFailed || !errors.As(ev.Err, &ee):
			case ee.Status == exitNoSrc:
				failed[ev.Node] = &VisibilityError{Node: ev.Node, What: "SRC", Path: m.o.Src}
			case ee.Status == exitNoDst:
				failed[ev.Node] = &VisibilityError{Node: ev.Node, What: "DST's parent", Path: dstParent}
			case ee.Status == exitNoWork:
				failed[ev.Node] = &VisibilityError{Node: ev.Node, What: "work directory", Path: m.o.Work}
			case ee.Status == exitDstRO:
				failed[ev.Node] = &VisibilityError{Node: ev.Node, What: "DST", Path: dst, ReadOnly: true}
			case ee.Status == exitWorkRO:
				failed[ev.Node] = &VisibilityError{Node: ev.Node, What: "work directory", Path: m.o.Work, ReadOnly: true}
			}
			m.mu.Lock()
			m.emit(Event{Kind: Checking, Run: ev})
			m.mu.Unlock()
		},
	})
	if rep.Interrupted {
		return nil, nil, errInterrupted
	}
	mu.Lock()
	defer mu.Unlock()
	return failed, users, nil
}

var errInterrupted = errors.New("sync: interrupted")
