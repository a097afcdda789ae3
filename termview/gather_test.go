package termview

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

func TestGatherGroupsIdenticalOutput(t *testing.T) {
	g := NewGather()
	run := func(seq int, node, out string, err error) {
		so, se, done := g.JobOutput(jobs.Job{Seq: seq}, 1, node)
		require.Nil(t, se)
		_, _ = so.Write([]byte(out))
		done(err)
	}
	for i, n := range []string{"node01", "node02", "node03", "node04", "node05", "node06", "node07", "node08", "node10"} {
		run(i+1, n, "model: EPYC\n", nil)
	}
	run(10, "node09", "model: Xeon\n", nil)
	run(11, "node11", "model: EPYC\n", &runner.ExitError{Status: 3})
	// A requeued job: only its last attempt counts.
	run(12, "gpu1", "first attempt\n", &runner.ExitError{Status: 1})
	run(12, "gpu2", "no newline", nil)

	var b strings.Builder
	require.NoError(t, g.Print(&b, ""))
	golden(t, "gather.golden", b.String())
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
}

// TestGatherMatchesWholeOutputGrouping: outputs written in random pieces,
// some identical, some sharing their first blocks, some crossing block
// boundaries, some attempts retried, are grouped exactly as grouping the
// whole outputs by content and status does; and once every job has ended
// the blocks held are exactly those of the outputs that count.
func TestGatherMatchesWholeOutputGrouping(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 22))
	base := make([]byte, 3*gatherBlock+777)
	for i := range base {
		base[i] = 'a' + byte(rng.IntN(26))
	}
	// Candidate outputs: empty, short, exactly one block, a prefix of
	// another, the same bytes but one at the end, differing in block 2.
	variant := func(i int) []byte {
		switch i {
		case 0:
			return nil
		case 1:
			return []byte("short\n")
		case 2:
			return base[:gatherBlock]
		case 3:
			return base[:2*gatherBlock+5]
		case 4:
			return base
		case 5:
			return append(bytes.Clone(base), 'x')
		default:
			b := bytes.Clone(base)
			b[gatherBlock+100] = '!'
			return b
		}
	}
	for round := range 6 {
		g := NewGather()
		want := map[int]final{}
		for seq := 1; seq <= 40; seq++ {
			attempts := 1 + rng.IntN(2)
			for a := 1; a <= attempts; a++ {
				node := fmt.Sprintf("n%02d", rng.IntN(50))
				out := variant(rng.IntN(7))
				var err error
				if rng.IntN(4) == 0 {
					err = &runner.ExitError{Status: 1 + rng.IntN(2)}
				}
				so, _, done := g.JobOutput(jobs.Job{Seq: seq}, a, node)
				for rest := out; len(rest) > 0; {
					n := min(len(rest), 1+rng.IntN(2*gatherBlock))
					_, werr := so.Write(rest[:n])
					require.NoError(t, werr)
					rest = rest[n:]
				}
				done(err)
				want[seq] = final{node, out, err}
			}
		}
		var got strings.Builder
		require.NoError(t, g.Print(&got, "job"))
		require.Equal(t, wholeOutputGrouping(want), got.String(), "round %d", round)

		// No block is held but those of the outputs that count.
		refs := map[*gatherBlockRef]int{}
		for _, o := range g.outputs {
			for _, b := range o.blocks {
				refs[b]++
			}
		}
		require.Len(t, g.blocks, len(refs), "round %d", round)
		for _, b := range g.blocks {
			require.Equal(t, refs[b], b.refs, "round %d", round)
		}
	}
}

// final is a job's last attempt.
type final struct {
	node string
	out  []byte
	err  error
}

// wholeOutputGrouping is the oracle of Gather.Print: whole outputs
// grouped by content and status, in the order of their first job.
func wholeOutputGrouping(jobsBySeq map[int]final) string {
	type group struct {
		nodes  []string
		out    []byte
		status string
	}
	var order []*group
	groups := map[string]*group{}
	for _, seq := range slices.Sorted(maps.Keys(jobsBySeq)) {
		j := jobsBySeq[seq]
		status := ""
		if j.err != nil {
			status = runner.Describe(j.node, j.err)
		}
		key := status + "\x00" + string(j.out)
		if groups[key] == nil {
			groups[key] = &group{out: j.out, status: status}
			order = append(order, groups[key])
		}
		groups[key].nodes = append(groups[key].nodes, j.node)
	}
	var b strings.Builder
	for _, gr := range order {
		head := fmt.Sprintf("%s (%d job", hostlist.Fold(gr.nodes), len(gr.nodes))
		if len(gr.nodes) != 1 {
			head += "s"
		}
		head += ")"
		if gr.status != "" {
			head += " " + gr.status
		}
		rule := strings.Repeat("-", min(max(len(head), 15), 79))
		fmt.Fprintf(&b, "%s\n%s\n%s\n%s", rule, head, rule, gr.out)
		if len(gr.out) > 0 && gr.out[len(gr.out)-1] != '\n' {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// TestGatherHoldsIdenticalOutputOnce: 64 jobs writing the same 1 MiB hold
// about 1 MiB once they have ended, not 64 (issue 20.7: --gather held 4-5
// times the output). The live heap after a collection is measured, not
// time.
func TestGatherHoldsIdenticalOutputOnce(t *testing.T) {
	out := make([]byte, 1<<20)
	for i := range out {
		out[i] = 'a' + byte(i%26)
		if i%64 == 63 {
			out[i] = '\n'
		}
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	g := NewGather()
	for seq := 1; seq <= 64; seq++ {
		so, _, done := g.JobOutput(jobs.Job{Seq: seq}, 1, fmt.Sprintf("node%02d", seq))
		for off := 0; off < len(out); off += 32 << 10 {
			_, err := so.Write(out[off : off+32<<10])
			require.NoError(t, err)
		}
		done(nil)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	require.Less(t, held, int64(4<<20), "64 identical outputs of 1 MiB hold %d bytes", held)
	var b strings.Builder
	require.NoError(t, g.Print(&b, ""))
	head := "----------------\nnode[01-64] (64)\n----------------\n"
	require.True(t, strings.HasPrefix(b.String(), head), "header: %q", b.String()[:min(b.Len(), 60)])
	require.True(t, b.String()[len(head):] == string(out), "the gathered output differs from the jobs' output")
}
