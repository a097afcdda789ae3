package termview

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
)

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
// its header. Only a job's last attempt counts. Output is held in memory
// until the end: Gather is for inventories, not for bulk output.
type Gather struct {
	mu   sync.Mutex
	jobs map[int]*gathered // by job sequence number
}

type gathered struct {
	seq  int
	node string
	out  bytes.Buffer
	err  error
	done bool
}

// NewGather returns an empty Gather.
func NewGather() *Gather { return &Gather{jobs: map[int]*gathered{}} }

// JobOutput is runner.Config.JobOutput: it keeps each attempt's stdout.
// The attempt's stderr is not gathered (it streams as usual).
func (g *Gather) JobOutput(j jobs.Job, attempt int, node string) (io.Writer, io.Writer, func(error)) {
	a := &gathered{seq: j.Seq, node: node}
	return &lockedBuffer{mu: &g.mu, b: &a.out}, nil, func(err error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		a.err, a.done = err, true
		g.jobs[j.Seq] = a // a later attempt replaces an earlier one
	}
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Print writes the groups to w, in the order of their first job. unit
// names what was counted: "" for one job per node (-E), where the count is
// the nodes', or "job" (made plural as needed).
func (g *Gather) Print(w io.Writer, unit string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	type group struct {
		first  int
		nodes  []string
		n      int
		out    []byte
		status string
	}
	groups := map[string]*group{}
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
		key := status + "\x00" + a.out.String()
		gr := groups[key]
		if gr == nil {
			gr = &group{first: s, out: a.out.Bytes(), status: status}
			groups[key] = gr
			order = append(order, gr)
		}
		gr.nodes = append(gr.nodes, a.node)
		gr.n++
	}
	var b strings.Builder
	for _, gr := range order {
		head := fmt.Sprintf("%s (%d", hostlist.Fold(gr.nodes), gr.n)
		if unit != "" {
			head += " " + unit
			if gr.n != 1 {
				head += "s"
			}
		}
		head += ")"
		if gr.status != "" {
			head += " " + gr.status
		}
		rule := strings.Repeat("-", min(max(len(head), 15), 79))
		fmt.Fprintf(&b, "%s\n%s\n%s\n", rule, head, rule)
		b.Write(gr.out)
		if len(gr.out) > 0 && gr.out[len(gr.out)-1] != '\n' {
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
