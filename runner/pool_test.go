package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/jobs"
	"github.com/stretchr/testify/require"
)

// fakeHost runs jobs in memory: fn decides each job's outcome.
type fakeHost struct {
	name string
	fn   func(ctx context.Context, node, cmd string, stdout io.Writer) error
}

func (f *fakeHost) Run(ctx context.Context, cmd string, stdout, _ io.Writer) error {
	return f.fn(ctx, f.name, cmd, stdout)
}
func (f *fakeHost) Close() error { return nil }

func fakeNodes(slots []int, fn func(ctx context.Context, node, cmd string, stdout io.Writer) error) []Node {
	var ns []Node
	for i, s := range slots {
		name := fmt.Sprintf("n%d", i+1)
		ns = append(ns, Node{Name: name, Slots: s, Connect: func(context.Context) (Host, error) {
			return &fakeHost{name: name, fn: fn}, nil
		}})
	}
	return ns
}

func cmds(n int, f string) jobs.Source {
	var c []string
	for i := range n {
		c = append(c, fmt.Sprintf(f, i))
	}
	return jobs.Concat(&jobs.Strings{Cmds: c, Name: "--job"})
}

// recorder collects events; Run calls it from one goroutine.
type recorder struct{ evs []Event }

func (r *recorder) add(e Event) { r.evs = append(r.evs, e) }
func (r *recorder) count(k EventKind) int {
	n := 0
	for _, e := range r.evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func TestRunUsesEverySlotAndNoMore(t *testing.T) {
	var mu sync.Mutex
	running := map[string]int{}
	peak := map[string]int{}
	total, peakTotal := 0, 0
	all := make(chan struct{})
	var allOnce sync.Once
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		mu.Lock()
		running[node]++
		total++
		peak[node] = max(peak[node], running[node])
		peakTotal = max(peakTotal, total)
		if total == 5 {
			allOnce.Do(func() { close(all) })
		}
		mu.Unlock()
		// The first five wait until five run at once: all slots are used.
		select {
		case <-all:
		case <-time.After(10 * time.Second):
		}
		mu.Lock()
		running[node]--
		total--
		mu.Unlock()
		return nil
	}
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{2, 3}, fn), Jobs: cmds(40, "job %d")})
	require.True(t, rep.OK())
	require.Equal(t, 40, rep.Succeeded)
	require.Equal(t, 5, peakTotal)
	require.Equal(t, 2, peak["n1"])
	require.Equal(t, 3, peak["n2"])
}

// gateOn returns a channel closed the first time node runs a job, and a
// wrapper of fn that closes it. The healthy node of a test waits on it, so
// the failing node gets a job before the queue drains, by construction.
func gateOn(node string, fn func(ctx context.Context, node, cmd string, stdout io.Writer) error) (<-chan struct{}, func(ctx context.Context, node, cmd string, stdout io.Writer) error) {
	ran := make(chan struct{})
	var once sync.Once
	return ran, func(ctx context.Context, n, cmd string, stdout io.Writer) error {
		if n == node {
			once.Do(func() { close(ran) })
		}
		return fn(ctx, n, cmd, stdout)
	}
}

func TestEvictRequeuesOnAnotherNode(t *testing.T) {
	var rec recorder
	var ran <-chan struct{}
	ran, fn := gateOn("n1", func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if node == "n1" {
			return &ExitError{Status: 1}
		}
		<-ran // n2 runs nothing until n1 has failed its job
		return nil
	})
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1, 1}, fn), Jobs: cmds(10, "job %d"), MaxAttempts: 3, Events: rec.add})
	require.True(t, rep.OK(), "%+v", rep)
	require.Equal(t, 10, rep.Succeeded)
	require.Len(t, rep.Evicted, 1)
	require.Equal(t, "n1", rep.Evicted[0].Node)
	require.Equal(t, 1, rec.count(NodeEvicted))
	require.Equal(t, 1, rec.count(JobFailed))
}

// TestPoisonJobCannotDrainFleet: a job failing everywhere is failed after
// --max-attempts nodes, and the rest of the fleet stays to run the others.
func TestPoisonJobCannotDrainFleet(t *testing.T) {
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if cmd == "poison" {
			return &ExitError{Status: 7}
		}
		return nil
	}
	src := jobs.Concat(&jobs.Strings{Cmds: []string{"poison", "a", "b", "c", "d", "e", "f"}})
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1, 1, 1, 1, 1}, fn), Jobs: src, MaxAttempts: 3})
	require.Equal(t, 6, rep.Succeeded)
	require.Len(t, rep.Failed, 1)
	f := rep.Failed[0]
	require.Equal(t, "poison", f.Job.Cmd)
	require.Len(t, f.Attempts, 3)
	seen := map[string]bool{}
	for _, a := range f.Attempts {
		require.Equal(t, &ExitError{Status: 7}, a.Err)
		seen[a.Node] = true
	}
	require.Len(t, seen, 3, "attempts must be on distinct nodes")
	// The job is at fault, not the three nodes it evicted: they are back
	// (one may still have been connecting at the end).
	require.Empty(t, rep.Evicted)
	require.Equal(t, 5, rep.Stats.Nodes+rep.Stats.Pending)
}

// TestPoisonJobsReadmitTheirNodes is issue 21's fleet: 3 jobs that exit 1
// among 40 evicted all 8 nodes and 16 jobs never ran. Each poison job is
// failed once it has failed on 3 nodes, and the nodes it evicted come back,
// each with an event naming the job at fault; every other job runs once.
func TestPoisonJobsReadmitTheirNodes(t *testing.T) {
	var mu sync.Mutex
	runs := map[string]int{}
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if strings.HasPrefix(cmd, "poison") {
			return &ExitError{Status: 1}
		}
		mu.Lock()
		runs[cmd]++
		mu.Unlock()
		return nil
	}
	var cs []string
	for i := range 40 {
		c := fmt.Sprintf("job %d", i)
		if i%13 == 5 {
			c = fmt.Sprintf("poison %d; exit 1", i)
		}
		cs = append(cs, c)
	}
	var rec recorder
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1, 1, 1, 1, 1, 1, 1, 1}, fn),
		Jobs: jobs.Concat(&jobs.Strings{Cmds: cs}), MaxAttempts: 3, Events: rec.add})
	require.Equal(t, 37, rep.Succeeded)
	require.Len(t, rep.Failed, 3)
	require.Empty(t, rep.Unrun)
	require.Empty(t, rep.Evicted, "no node is out at the end")
	require.Len(t, runs, 37)
	for c, n := range runs {
		require.Equal(t, 1, n, "%s ran %d times", c, n)
	}
	require.Equal(t, 9, rec.count(NodeEvicted))
	require.Equal(t, 9, rec.count(NodeReadmitted))
	for _, e := range rec.evs {
		if e.Kind == NodeReadmitted {
			require.True(t, strings.HasPrefix(e.Job.Cmd, "poison"), "%+v", e)
			require.Equal(t, "failed on 3 nodes, the job is at fault", e.Reason)
		}
	}
}

// TestUnlimitedAttemptsIsClstr: with --max-attempts 0 a poison job evicts
// every node, and jobs left are reported as never run.
func TestUnlimitedAttemptsIsClstr(t *testing.T) {
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if cmd == "poison" {
			return &ExitError{Status: 1}
		}
		return nil
	}
	src := jobs.Concat(&jobs.Strings{Cmds: []string{"poison", "x", "y", "z"}})
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1, 1, 1}, fn), Jobs: src, MaxAttempts: 0, MaxSlots: 1})
	require.Len(t, rep.Evicted, 3)
	require.Len(t, rep.Failed, 1)
	require.Equal(t, "no node it has not failed on is left", rep.Failed[0].Reason)
	require.Len(t, rep.Failed[0].Attempts, 3)
	var unrun []string
	for _, j := range rep.Unrun {
		unrun = append(unrun, j.Cmd)
	}
	require.Equal(t, []string{"x", "y", "z"}, unrun)
	require.False(t, rep.OK())
}

// TestOnFailureRetryKeepsNode: "flaky" fails on the first node that runs
// it, whichever that is, and succeeds on the other; no node is evicted.
func TestOnFailureRetryKeepsNode(t *testing.T) {
	var mu sync.Mutex
	var ranOn []string
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if cmd != "flaky" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		ranOn = append(ranOn, node)
		if len(ranOn) == 1 {
			return &ExitError{Status: 2}
		}
		return nil
	}
	src := jobs.Concat(&jobs.Strings{Cmds: []string{"flaky", "a", "b", "c"}})
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1, 1}, fn), Jobs: src, OnFailure: Retry, MaxAttempts: 3})
	require.True(t, rep.OK(), "%+v", rep)
	require.Empty(t, rep.Evicted)
	require.Equal(t, 2, rep.Stats.Nodes)
	require.Len(t, ranOn, 2)
	require.NotEqual(t, ranOn[0], ranOn[1], "a retried job must go to a node it has not failed on")
}

func TestOnFailureKeepFailsJobKeepsNode(t *testing.T) {
	var rec recorder
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if cmd == "bad" {
			return &ExitError{Status: 4}
		}
		return nil
	}
	src := jobs.Concat(&jobs.Strings{Cmds: []string{"bad", "a", "b"}})
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1}, fn), Jobs: src, OnFailure: Keep, MaxAttempts: 3, Events: rec.add})
	require.Equal(t, 2, rep.Succeeded)
	require.Len(t, rep.Failed, 1)
	require.Len(t, rep.Failed[0].Attempts, 1)
	require.Empty(t, rep.Evicted)
	require.Zero(t, rec.count(NodeEvicted))
}

// TestNodeErrorAlwaysEvicts: a transport failure evicts the node and
// requeues its job even with --on-failure keep.
func TestNodeErrorAlwaysEvicts(t *testing.T) {
	var ran <-chan struct{}
	ran, fn := gateOn("n1", func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if node == "n1" {
			return &NodeError{Node: node, Err: errors.New("connection lost")}
		}
		<-ran
		return nil
	})
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1, 1}, fn), Jobs: cmds(5, "j%d"), OnFailure: Keep, MaxAttempts: 3})
	require.True(t, rep.OK(), "%+v", rep)
	require.Equal(t, 5, rep.Succeeded)
	require.Len(t, rep.Evicted, 1)
	require.Equal(t, "n1", rep.Evicted[0].Node)
}

func TestTimeoutKillsAndFails(t *testing.T) {
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		if cmd == "slow" {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	src := jobs.Concat(&jobs.Strings{Cmds: []string{"slow", "fast"}})
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1}, fn), Jobs: src, OnFailure: Keep, Timeout: 50 * time.Millisecond})
	require.Equal(t, 1, rep.Succeeded)
	require.Len(t, rep.Failed, 1)
	var te *TimeoutError
	require.ErrorAs(t, rep.Failed[0].Attempts[0].Err, &te)
}

func TestRefusedNodeIsReportedAndOthersRun(t *testing.T) {
	var rec recorder
	refused := make(chan struct{})
	// The jobs run until the refusal is in, so the run sees it.
	ns := fakeNodes([]int{1}, func(context.Context, string, string, io.Writer) error { <-refused; return nil })
	ns = append(ns, Node{Name: "dead", Slots: 4, Connect: func(context.Context) (Host, error) {
		return nil, errors.New("connection refused")
	}})
	events := func(e Event) {
		rec.add(e)
		if e.Kind == NodeRefused {
			close(refused)
		}
	}
	rep := Run(context.Background(), Config{Nodes: ns, Jobs: cmds(3, "j%d"), Events: events})
	require.True(t, rep.OK())
	require.Len(t, rep.Refused, 1)
	require.Equal(t, 1, rec.count(NodeRefused))
}

func TestNoNodesLeftListsEveryUnrunJob(t *testing.T) {
	ns := []Node{{Name: "dead", Slots: 1, Connect: func(context.Context) (Host, error) { return nil, errors.New("no route") }}}
	rep := Run(context.Background(), Config{Nodes: ns, Jobs: cmds(4, "j%d")})
	require.Len(t, rep.Unrun, 4)
	require.False(t, rep.Unread)
	require.Equal(t, 4, rep.Stats.Total)
}

// TestStreamRunsBeforeItEnds: the first job runs while the stream is still
// open; the generator writes its second line only after that.
func TestStreamRunsBeforeItEnds(t *testing.T) {
	pr, pw := io.Pipe()
	firstRan := make(chan struct{})
	var once sync.Once
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		once.Do(func() { close(firstRan) })
		return nil
	}
	go func() {
		_, _ = io.WriteString(pw, "first\n")
		select {
		case <-firstRan:
			_, _ = io.WriteString(pw, "second\n")
			_ = pw.Close()
		case <-time.After(10 * time.Second):
			_ = pw.CloseWithError(errors.New("first job did not run while the stream was open"))
		}
	}()
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{1}, fn), Jobs: jobs.Concat(jobs.NewReader(pr, "pipe"))})
	require.NoError(t, rep.StreamErr)
	require.True(t, rep.OK())
	require.Equal(t, 2, rep.Succeeded)
}

func TestDrainStopsStartingAndLetsRunningFinish(t *testing.T) {
	drain := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	started := 0
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		mu.Lock()
		started++
		if started == 2 {
			close(drain)
		}
		mu.Unlock()
		<-release
		return nil
	}
	var rec recorder
	events := func(e Event) {
		rec.add(e)
		if e.Kind == Draining {
			close(release)
		}
	}
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{2}, fn), Jobs: cmds(10, "j%d"), Drain: drain, Events: events})
	require.Equal(t, 2, rep.Succeeded)
	require.True(t, rep.Interrupted)
	require.True(t, rep.Unread)
	require.Empty(t, rep.Failed)
	require.Equal(t, 2, rec.count(JobStarted))
}

func TestCancelKillsRunningJobs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	started := 0
	fn := func(jctx context.Context, node, cmd string, _ io.Writer) error {
		mu.Lock()
		started++
		if started == 3 {
			cancel()
		}
		mu.Unlock()
		<-jctx.Done()
		return jctx.Err()
	}
	rep := Run(ctx, Config{Nodes: fakeNodes([]int{3}, fn), Jobs: cmds(10, "j%d")})
	require.True(t, rep.Interrupted)
	require.Len(t, rep.Failed, 3)
	for _, f := range rep.Failed {
		require.ErrorIs(t, f.Attempts[0].Err, ErrKilled)
	}
}

func TestMaxSlotsAndMaxNodeUses(t *testing.T) {
	var mu sync.Mutex
	running, peak := 0, 0
	uses := map[string]int{}
	fn := func(ctx context.Context, node, cmd string, _ io.Writer) error {
		mu.Lock()
		running++
		uses[node]++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	}
	rep := Run(context.Background(), Config{Nodes: fakeNodes([]int{4, 4}, fn), Jobs: cmds(6, "j%d"), MaxSlots: 3, MaxNodeUses: 3})
	require.True(t, rep.OK())
	require.LessOrEqual(t, peak, 3)
	require.Equal(t, map[string]int{"n1": 3, "n2": 3}, uses)

	// Uses run out before the jobs do: the rest is listed as never run.
	rep = Run(context.Background(), Config{Nodes: fakeNodes([]int{1, 1}, fn), Jobs: cmds(7, "j%d"), MaxNodeUses: 2})
	require.Equal(t, 4, rep.Succeeded)
	require.Len(t, rep.Unrun, 3)
}

func TestEachNodeRunsOncePerNode(t *testing.T) {
	var mu sync.Mutex
	ran := map[string]int{}
	fn := func(ctx context.Context, node, cmd string, stdout io.Writer) error {
		mu.Lock()
		ran[node]++
		mu.Unlock()
		_, _ = io.WriteString(stdout, "model name : "+node+"\n")
		switch node {
		case "n3":
			return &ExitError{Status: 1}
		case "n4":
			return &NodeError{Node: node, Err: errors.New("connection lost")}
		}
		return nil
	}
	var out strings.Builder
	ns := fakeNodes([]int{4, 1, 2, 1}, fn)
	ns = append(ns, Node{Name: "gone", Slots: 1, Connect: func(context.Context) (Host, error) { return nil, errors.New("refused") }})
	rep := Run(context.Background(), Config{Nodes: ns, EachNode: "grep 'model name' /proc/cpuinfo", Stdout: NewOutput(&out), Tag: true})
	require.Equal(t, map[string]int{"n1": 1, "n2": 1, "n3": 1, "n4": 1}, ran)
	require.Equal(t, 2, rep.Succeeded)
	require.Len(t, rep.Failed, 2)
	require.ElementsMatch(t, []string{"n3", "n4"}, []string{rep.Failed[0].Attempts[0].Node, rep.Failed[1].Attempts[0].Node})
	require.Len(t, rep.Refused, 1)
	require.Empty(t, rep.Evicted, "an inventory never evicts, not even for a lost connection")
	require.Contains(t, out.String(), "n2: model name : n2\n")
	require.Equal(t, 5, rep.Stats.Total)
}
