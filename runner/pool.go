package runner

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/drove-dev/drove/jobs"
)

type nodeState int

const (
	nodeDialing nodeState = iota
	nodeUp
	nodeProbing // evicted, waiting to be probed for readmission
	nodeGone
)

type node struct {
	Node
	host    Host
	state   nodeState
	running int
	uses    int
	free    []int // free slot numbers
	closed  bool  // host closed
	seq     int   // 1-based position in Config.Nodes
	leaving bool  // removed from the node list: finishes its jobs, takes no more
	joining bool  // added by a node list update (its NodeUp is NodeJoined)
	probes  int   // readmission probes made

	// Blame (blame.go): jobs whose own failure here awaits its verdict,
	// and whether the node is out for a reason of its own.
	suspects map[*jobState]bool
	guilty   bool // a job that failed here was not at fault
	lost     bool // the node failed (a *NodeError, a failed probe)
}

type jobState struct {
	job      jobs.Job
	attempts []Attempt
	tried    map[*node]bool // nodes it failed on by its own failure
	faulted  map[*node]bool // nodes it failed on by a fault JobFault called its own: it may go back
	pin      *node          // EachNode: the only node it may run on
}

type result struct {
	js     *jobState
	n      *node
	slot   int
	err    error
	start  time.Time
	dur    time.Duration
	stdout int64
}

type dialResult struct {
	n     *node
	host  Host
	err   error
	probe bool // a readmission probe, not the first connection
}

type item struct {
	job jobs.Job
	err error
}

// pool is the scheduler's state. Only the goroutine in Run touches it.
type pool struct {
	cfg     Config
	ctx     context.Context
	nodes   []*node
	tokens  []*node // a free slot of an up node, in round-robin order
	retry   []*jobState
	results chan result
	dials   chan dialResult
	feed    chan item
	quit    chan struct{}
	dialCtx context.Context  // for Connect: ends with ctx, or when Run returns
	byName  map[string]*node // the listed node of each name

	running     int
	streamEnded bool
	draining    bool
	readmitted  bool // a node was readmitted since the loop last looked
	rep         Report
}

// Run runs the jobs of cfg and returns when every job has succeeded, failed
// for good or cannot run (no node left, or the run was drained or
// cancelled). The Report accounts for all of them.
func Run(ctx context.Context, cfg Config) *Report {
	if cfg.Stdout == nil {
		cfg.Stdout = NewOutput(nil)
	}
	if cfg.Stderr == nil {
		cfg.Stderr = NewOutput(nil)
	}
	cfg.Stderr.shareHold(cfg.Stdout)
	p := &pool{
		cfg:     cfg,
		ctx:     ctx,
		results: make(chan result, 64),
		dials:   make(chan dialResult),
		quit:    make(chan struct{}),
		byName:  map[string]*node{},
	}
	defer close(p.quit)
	var stopDials context.CancelFunc
	p.dialCtx, stopDials = context.WithCancel(ctx)
	defer stopDials()
	for _, n := range cfg.Nodes {
		if n.Slots < 1 {
			n.Slots = 1
		}
		nd := &node{Node: n, seq: len(p.nodes) + 1}
		p.nodes = append(p.nodes, nd)
		p.byName[n.Name] = nd
	}
	if cfg.EachNode != "" {
		p.rep.Stats.Total = len(p.nodes)
	}
	if cfg.EachNode != "" || cfg.Jobs == nil {
		p.streamEnded = true
		p.rep.Stats.TotalKnown = true
	} else {
		p.feed = make(chan item, feedAhead)
		go p.read(cfg.Jobs)
	}
	p.startDials()
	p.loop()
	atEnd := p.stats()
	p.finish()
	p.rep.Stats = p.stats()
	// The pool as it stood when the last job ended, before it was closed.
	p.rep.Stats.Nodes, p.rep.Stats.Slots, p.rep.Stats.Pending = atEnd.Nodes, atEnd.Slots, atEnd.Pending
	p.rep.Succeeded = p.rep.Stats.Succeeded
	return &p.rep
}

// feedAhead is how many jobs the reader may have read from the stream
// before a slot wants them: enough that a free slot never waits for the
// reader, few enough that memory does not grow with the stream.
const feedAhead = 32

// read feeds the job stream to the scheduler; the small channel buffer
// (feedAhead) is what keeps memory bounded.
func (p *pool) read(src jobs.Source) {
	for {
		j, err := src.Next()
		select {
		case p.feed <- item{job: j, err: err}:
		case <-p.quit:
			return
		}
		if err != nil && !errors.Is(err, jobs.ErrLineTooLong) {
			return
		}
	}
}

func (p *pool) loop() {
	drain := p.cfg.Drain
	ctxDone := p.ctx.Done()
	updates := p.cfg.NodeUpdates
	if p.cfg.EachNode != "" {
		updates = nil
	}
	for {
		// A cancelled run starts nothing more, whatever else is ready:
		// select picks among ready cases at random, so the cancel is
		// looked at first.
		if ctxDone != nil && p.ctx.Err() != nil {
			ctxDone = nil
			p.rep.Interrupted = true
			p.drain()
		}
		p.readmitted = false
		p.dispatchRetries()
		if p.readmitted || p.unstick() {
			continue // slots came back: dispatch again before waiting
		}
		if p.finished() {
			return
		}
		var feed chan item
		if p.wantNew() {
			feed = p.feed
		}
		select {
		case it := <-feed:
			if errors.Is(it.err, jobs.ErrLineTooLong) {
				// A line no job can be made of: listed as never run,
				// with its file and line, and the stream goes on.
				p.rep.Stats.Total++
				p.neverRan(it.job, it.err.Error())
				continue
			}
			if it.err != nil {
				p.endStream(it.err)
				continue
			}
			p.rep.Stats.Total++
			if p.ctx.Err() != nil {
				// Cancelled while this job was being taken: it never ran.
				p.neverRan(it.job, "the run was interrupted")
				continue
			}
			p.start(&jobState{job: it.job}, p.takeToken(nil))
		case r := <-p.results:
			p.done(r)
		case d := <-p.dials:
			p.dialed(d)
		case ns := <-updates:
			p.updateNodes(ns)
		case <-drain:
			drain = nil
			p.drain()
		case <-ctxDone:
			ctxDone = nil
			p.rep.Interrupted = true
			p.drain()
		}
	}
}

func (p *pool) drain() {
	if p.draining {
		return
	}
	p.draining = true
	p.rep.Interrupted = true
	p.emit(Event{Kind: Draining})
}

func (p *pool) endStream(err error) {
	p.streamEnded = true
	p.feed = nil
	if !errors.Is(err, io.EOF) {
		p.rep.StreamErr = err
	}
	p.rep.Stats.TotalKnown = true
	p.emit(Event{Kind: StreamEnd})
}

// finished: nothing runs, and nothing more can start.
func (p *pool) finished() bool {
	if p.running > 0 {
		return false
	}
	if p.cfg.EachNode != "" {
		return !p.anyDialing()
	}
	if p.draining {
		return true
	}
	if p.streamEnded && len(p.retry) == 0 {
		return true
	}
	return !p.anyLive()
}

func (p *pool) anyDialing() bool {
	for _, n := range p.nodes {
		if n.state == nodeDialing || n.state == nodeProbing {
			return true
		}
	}
	return false
}

// anyLive reports whether some node can still take a job now or later.
func (p *pool) anyLive() bool {
	for _, n := range p.nodes {
		if n.state == nodeDialing || n.state == nodeProbing || p.usable(n) || p.awaiting(n) {
			return true
		}
	}
	return false
}

func (p *pool) usable(n *node) bool {
	return n.state == nodeUp && !n.leaving && (p.cfg.MaxNodeUses == 0 || n.uses < p.cfg.MaxNodeUses)
}

func (p *pool) capacity() bool {
	return !p.draining && (p.cfg.MaxSlots == 0 || p.running < p.cfg.MaxSlots)
}

// wantNew: a new job from the stream could start now.
func (p *pool) wantNew() bool {
	if p.streamEnded || !p.capacity() {
		return false
	}
	p.dropStaleTokens()
	return len(p.tokens) > 0
}

func (p *pool) start(js *jobState, n *node) {
	slot := n.free[len(n.free)-1]
	n.free = n.free[:len(n.free)-1]
	n.running++
	n.uses++
	p.running++
	attempt := len(js.attempts) + 1
	ctx, cancel := p.ctx, context.CancelFunc(func() {})
	if p.cfg.Timeout > 0 {
		ctx, cancel = context.WithTimeout(p.ctx, p.cfg.Timeout)
	}
	prefix := ""
	if p.cfg.Tag {
		prefix = n.Name + ": "
	}
	stdout := p.cfg.Stdout.Writer(prefix)
	stderr := p.cfg.Stderr.Writer(prefix)
	stderr.pair(stdout)
	var finish func(error)
	if p.cfg.JobOutput != nil {
		stdout.tee, stderr.tee, finish = p.cfg.JobOutput(js.job, attempt, n.Name)
	}
	started := time.Now()
	p.emit(Event{Kind: JobStarted, Node: n.Name, Slot: slot, Job: js.job, Attempt: attempt})
	host := n.host
	go func() {
		defer cancel()
		err := host.Run(ctx, js.job.Cmd, stdout, stderr)
		_ = stdout.Close()
		_ = stderr.Close()
		switch {
		case err == nil:
		case p.ctx.Err() != nil:
			err = ErrKilled
		case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			err = &TimeoutError{After: p.cfg.Timeout}
		}
		if finish != nil {
			finish(err)
		}
		p.results <- result{js: js, n: n, slot: slot, err: err, start: started, dur: time.Since(started), stdout: stdout.Bytes()}
	}()
}

// finish accounts for what never ran.
func (p *pool) finish() {
	for _, js := range p.retry {
		p.fail(js, "the run stopped before it could be retried")
	}
	p.retry = nil
	for _, n := range p.nodes {
		if n.state != nodeGone {
			n.state = nodeGone
		}
		p.closeHost(n)
	}
	if p.streamEnded {
		return
	}
	if p.rep.Interrupted && !p.cfg.FiniteJobs {
		// A generator may never end: say the rest was not read.
		p.rep.Unread = true
		return
	}
	// No node is left, or the run was interrupted: read the rest of the
	// stream to list what never ran.
	why := "no node was left to run it"
	if p.rep.Interrupted {
		why = "the run was interrupted"
	}
	// A finite stream (a regular file, command-line jobs) is read to its
	// end even after a cancel: it cannot block, and the report then gives
	// the exact count of what never ran.
	ctxDone := p.ctx.Done()
	if p.cfg.FiniteJobs {
		ctxDone = nil
	}
	for !p.streamEnded {
		select {
		case it := <-p.feed:
			if it.err != nil {
				p.endStream(it.err)
				break
			}
			p.rep.Stats.Total++
			p.neverRan(it.job, why)
		case <-ctxDone:
			p.rep.Unread = true
			return
		}
	}
}

func (p *pool) stats() Stats {
	s := p.rep.Stats
	s.Running = p.running
	s.Slots, s.Nodes, s.Pending = 0, 0, 0
	for _, n := range p.nodes {
		switch {
		case n.state == nodeDialing || n.state == nodeProbing:
			s.Pending++
		case p.usable(n) || (n.state == nodeUp && n.running > 0):
			s.Nodes++
			s.Slots += n.Slots
		}
	}
	s.Draining = p.draining
	return s
}

func (p *pool) emit(e Event) {
	if p.cfg.Events == nil {
		return
	}
	e.Time = time.Now()
	e.Stats = p.stats()
	p.cfg.Events(e)
}
