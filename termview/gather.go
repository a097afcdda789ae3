package termview

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
)

// gatherBlock is the size of the blocks a gathered output is cut into, at
// fixed offsets of the stream: two identical outputs are the same blocks.
const gatherBlock = 64 << 10

// Gather collects each job's standard output and prints, at the end, each
// distinct output once under the folded set of nodes that produced it, as
// "clush -b" and "pdsh | dshbak -c" do:
//
//	----------------
//	node[01-08,10] (9)
//	----------------
//	model name : AMD EPYC 7763
//
// Jobs whose output was identical but whose exit statuses differ are in
// separate groups, and a group that did not succeed says how it ended in
// its header. Only a job's last attempt counts.
//
// Output is held until the end, by content: as it streams in, each job's
// stdout is cut into 64 KiB blocks at fixed offsets and each block is kept
// once, under its SHA-256, however many jobs wrote it. Memory is therefore
// about the distinct outputs once, plus at most one block being filled per
// running job, plus for each job its node name, its status and a 32-byte
// hash per block of its output.
type Gather struct {
	// Colour colours the headers as clush does on a terminal (see
	// Colours); set it before Print.
	Colour bool

	mu      sync.Mutex
	blocks  map[[sha256.Size]byte]*gatherBlockRef
	outputs map[string]*gatherOutput // by the concatenated hashes of its blocks
	jobs    map[int]*gathered        // by job sequence number
}

type gatherBlockRef struct {
	sum  [sha256.Size]byte
	data []byte
	refs int // outputs and running attempts that hold it
}

// gatherOutput is one distinct output: its blocks in order.
type gatherOutput struct {
	key    string
	blocks []*gatherBlockRef
	refs   int // jobs whose last attempt wrote it
}

type gathered struct {
	node string
	out  *gatherOutput
	err  error
}

// NewGather returns an empty Gather.
func NewGather() *Gather {
	return &Gather{
		blocks:  map[[sha256.Size]byte]*gatherBlockRef{},
		outputs: map[string]*gatherOutput{},
		jobs:    map[int]*gathered{},
	}
}

// JobOutput is runner.Config.JobOutput: it keeps each attempt's stdout.
// The attempt's stderr is not gathered (it streams as usual).
func (g *Gather) JobOutput(j jobs.Job, attempt int, node string) (io.Writer, io.Writer, func(error)) {
	w := &gatherWriter{g: g}
	return w, nil, func(err error) {
		out := w.finish()
		g.mu.Lock()
		defer g.mu.Unlock()
		if old := g.jobs[j.Seq]; old != nil { // a later attempt replaces an earlier one
			g.releaseOutput(old.out)
		}
		g.jobs[j.Seq] = &gathered{node: node, out: out, err: err}
	}
}

// gatherWriter cuts one attempt's stdout into blocks as it streams in.
type gatherWriter struct {
	g       *Gather
	mu      sync.Mutex
	pending []byte // the block being filled, less than gatherBlock bytes
	blocks  []*gatherBlockRef
	hashes  []byte // the blocks' hashes, concatenated
}

func (w *gatherWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		if len(w.pending) == 0 && len(p) >= gatherBlock {
			w.add(p[:gatherBlock])
			p = p[gatherBlock:]
			continue
		}
		if w.pending == nil {
			w.pending = make([]byte, 0, min(gatherBlock, max(len(p), 512)))
		}
		k := min(len(p), gatherBlock-len(w.pending))
		w.pending = append(w.pending, p[:k]...)
		p = p[k:]
		if len(w.pending) == gatherBlock {
			w.add(w.pending)
			w.pending = w.pending[:0]
		}
	}
	return n, nil
}

// add interns one block, copied when new: b is not kept.
func (w *gatherWriter) add(b []byte) {
	sum := sha256.Sum256(b)
	w.g.mu.Lock()
	ref := w.g.blocks[sum]
	if ref == nil {
		ref = &gatherBlockRef{sum: sum, data: bytes.Clone(b)}
		w.g.blocks[sum] = ref
	}
	ref.refs++
	w.g.mu.Unlock()
	w.blocks = append(w.blocks, ref)
	w.hashes = append(w.hashes, sum[:]...)
}

// finish interns the last, partial block and the output as a whole, and
// returns the output, which holds one reference for its job.
func (w *gatherWriter) finish() *gatherOutput {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		w.add(w.pending)
	}
	w.pending = nil
	g := w.g
	key := string(w.hashes)
	g.mu.Lock()
	defer g.mu.Unlock()
	out := g.outputs[key]
	if out == nil {
		out = &gatherOutput{key: key, blocks: w.blocks}
		g.outputs[key] = out
	} else {
		// Another job wrote the same: its blocks hold this output, so
		// this attempt's references to them go.
		for _, b := range w.blocks {
			g.releaseBlock(b)
		}
	}
	out.refs++
	w.blocks, w.hashes = nil, nil
	return out
}

// releaseOutput drops one job's reference to out; g.mu is held.
func (g *Gather) releaseOutput(out *gatherOutput) {
	out.refs--
	if out.refs > 0 {
		return
	}
	delete(g.outputs, out.key)
	for _, b := range out.blocks {
		g.releaseBlock(b)
	}
}

// releaseBlock drops one reference to b; g.mu is held.
func (g *Gather) releaseBlock(b *gatherBlockRef) {
	b.refs--
	if b.refs == 0 {
		delete(g.blocks, b.sum)
	}
}

// Print writes the groups to w, in the order of their first job. unit
// names what was counted: "" for one job per node (-E), where the count is
// the nodes', or "job" (made plural as needed).
func (g *Gather) Print(w io.Writer, unit string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	type group struct {
		nodes  []string
		out    *gatherOutput
		status string
	}
	type groupKey struct {
		out    *gatherOutput
		status string
	}
	groups := map[groupKey]*group{}
	var order []*group
	seqs := make([]int, 0, len(g.jobs))
	for s := range g.jobs {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	for _, s := range seqs {
		a := g.jobs[s]
		status := ""
		if a.err != nil {
			status = runner.Describe(a.node, a.err)
		}
		k := groupKey{a.out, status}
		gr := groups[k]
		if gr == nil {
			gr = &group{out: a.out, status: status}
			groups[k] = gr
			order = append(order, gr)
		}
		gr.nodes = append(gr.nodes, a.node)
	}
	bw := bufio.NewWriterSize(w, gatherBlock)
	for _, gr := range order {
		n := len(gr.nodes)
		head := fmt.Sprintf("%s (%d", hostlist.Fold(gr.nodes), n)
		if unit != "" {
			head += " " + unit
			if n != 1 {
				head += "s"
			}
		}
		head += ")"
		if gr.status != "" {
			head += " " + gr.status
		}
		rule := strings.Repeat("-", min(max(len(head), 15), 79))
		if g.Colour {
			rule, head = StdoutLabel(rule), StdoutLabel(head)
		}
		fmt.Fprintf(bw, "%s\n%s\n%s\n", rule, head, rule)
		var last []byte
		for _, b := range gr.out.blocks {
			bw.Write(b.data)
			last = b.data
		}
		if len(last) > 0 && last[len(last)-1] != '\n' {
			bw.WriteString("\n")
		}
	}
	return bw.Flush()
}
