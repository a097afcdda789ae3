package syncer

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// TestStaleNodeProperty (issue 19, "Done means"): a sync whose tree is
// changed while it runs (files deleted, rewritten, made, deleted and made
// again, just before copies start) and where one of two nodes sees an
// older copy of SRC (a mount namespace with that copy over SRC, as an NFS
// client's cache or a lagging replica would show it) never ends with exit
// 0 and a file missing from DST that was in SRC, unchanged, for the whole
// run; such a file that both views hold alike is in DST with its content.
// Random seeds, rsync and rclone, with and without Delete and the final
// pass. DROVE_LONG_TESTS=N runs 10*N seeds per tool, else 4 (rclone 3);
// the seed is printed on failure.
func TestStaleNodeProperty(t *testing.T) {
	testkit.Slow(t)
	needStaleView(t)
	seeds := 0
	if n, _ := strconv.Atoi(os.Getenv("DROVE_LONG_TESTS")); n > 0 {
		seeds = 10 * n
	}
	base := uint64(time.Now().UnixNano())
	for _, tool := range []copytool.Tool{copytool.Rsync, copytool.Rclone} {
		t.Run(tool.String(), func(t *testing.T) {
			needTool(t, tool.String())
			n := seeds
			if n == 0 {
				n = map[copytool.Tool]int{copytool.Rsync: 4, copytool.Rclone: 3}[tool]
			}
			for i := range n {
				seed := base + uint64(i)
				if !t.Run(fmt.Sprint(seed), func(t *testing.T) { staleNodeProperty(t, seed, i, tool) }) {
					t.Fatalf("seed %d fails (tool %s)", seed, tool)
				}
			}
		})
	}
}

// liveTree changes SRC while a sync runs, from the runner's goroutines,
// and remembers every path it touched.
type liveTree struct {
	mu      sync.Mutex
	r       *rand.Rand
	src     string
	dirs    []string
	files   []string // relative, the regular files it may change
	touched map[string]bool
	errs    []error
	made    int
}

// change makes one random change to SRC, with probability 1/2.
func (l *liveTree) change() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.r.IntN(2) == 0 {
		return
	}
	rel := l.files[l.r.IntN(len(l.files))]
	p := filepath.Join(l.src, rel)
	var err error
	switch l.r.IntN(4) {
	case 0: // deleted
		err = os.Remove(p)
	case 1: // rewritten, another size
		err = os.WriteFile(p, []byte("rewritten "+strconv.Itoa(l.r.IntN(1000))), 0o644)
	case 2: // deleted and made again
		if err = os.Remove(p); err == nil {
			err = os.WriteFile(p, []byte("again"), 0o644)
		}
	case 3: // a new file
		l.made++
		rel = filepath.Join(l.dirs[l.r.IntN(len(l.dirs))], "made"+strconv.Itoa(l.made))
		err = os.WriteFile(filepath.Join(l.src, rel), []byte("new"), 0o644)
	}
	l.touched[rel] = true
	if err != nil && !os.IsNotExist(err) {
		l.errs = append(l.errs, err)
	}
}

// staleNodeProperty runs one seed; the i-th seed of a run picks the
// variant (which node is stale, Delete, final pass, a current view), so
// that a few seeds cover them all.
func staleNodeProperty(t *testing.T, seed uint64, i int, tool copytool.Tool) {
	r := rand.New(rand.NewPCG(seed, 19))
	dir := t.TempDir()
	t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
	src, dst, old := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "old")
	require.NoError(t, os.Mkdir(src, 0o755))
	rclone := tool == copytool.Rclone
	dirs := randomTree(t, r, src, !rclone)
	// The stale node's view: SRC as it was, then SRC moves on (or not:
	// a view that is current must sync).
	require.NoError(t, exec.Command("cp", "-a", src+"/.", old).Run())
	files := regularFiles(t, src)
	require.NotEmpty(t, files)
	moves := 0 // one seed in five: a view that is current
	if i%5 != 4 {
		moves = 1 + r.IntN(6)
	}
	for m := range moves {
		rel := files[r.IntN(len(files))]
		switch c := r.IntN(4); {
		case m == 0 || c == 1 || c == 3: // a file the view lacks
			d := dirs[r.IntN(len(dirs))]
			require.NoError(t, os.WriteFile(filepath.Join(src, d, "after-view"+strconv.Itoa(m)), []byte("new"), 0o644))
		case c == 0:
			require.NoError(t, os.WriteFile(filepath.Join(src, rel), []byte("since the view"), 0o644))
		default:
			if err := os.Remove(filepath.Join(src, rel)); err != nil {
				require.ErrorIs(t, err, fs.ErrNotExist)
			}
		}
	}
	time.Sleep(2 * ctimeSlack) // what is there now is older than the listing
	start := snapshot(t, src)
	stale := snapshot(t, old)
	live := &liveTree{r: rand.New(rand.NewPCG(seed, 20)), src: src, dirs: dirs, files: regularFiles(t, src), touched: map[string]bool{}}
	if len(live.files) == 0 {
		live.files = files
	}

	var ran sync.Map // node name -> *atomic.Int32, jobs run there
	node := func(name string, view func(cmd string) string) Node {
		n, _ := ran.LoadOrStore(name, new(atomic.Int32))
		return Node{Node: runner.Node{Name: name, Slots: 1 + r.IntN(2), Connect: func(context.Context) (runner.Host, error) {
			return &hookHost{Local: runner.Local{Grace: time.Second}, before: func(cmd string) string {
				n.(*atomic.Int32).Add(1)
				live.change()
				return view(cmd)
			}}, nil
		}}, Local: true}
	}
	// Either the node "stale" sees the old copy for every job, or
	// whichever node runs the final pass sees it for that pass.
	finalStale := i%2 == 0
	good := func(cmd string) string {
		if finalStale && strings.Contains(cmd, "final.log") {
			return staleShell(old, src, cmd)
		}
		return ""
	}
	nodes := []Node{
		node("good", good),
		node("stale", func(cmd string) string { return staleShell(old, src, cmd) }),
	}
	if finalStale {
		nodes[1] = node("stale", good)
	}
	if r.IntN(2) == 0 {
		nodes[0], nodes[1] = nodes[1], nodes[0]
	}
	maxFiles := 1 + r.IntN(6)
	if rclone {
		maxFiles += 8 // each rclone takes a while to start
	}
	del, final := i/2%2 == 0, i%3 != 2
	res, err := Run(context.Background(), Options{
		Src: src, Dst: dst, Work: filepath.Join(dir, "work"), Tool: tool,
		MaxFiles: maxFiles, FinalPass: final, Delete: del, Nodes: nodes, OnFailure: runner.Evict,
	})
	require.NoError(t, err)
	live.mu.Lock()
	defer live.mu.Unlock()
	require.Empty(t, live.errs)
	jobs := func(name string) int32 { n, _ := ran.Load(name); return n.(*atomic.Int32).Load() }
	t.Logf("stale final pass %v, delete %v, final pass %v, %d changes while it ran, jobs good %d stale %d, ok %v (failed %d, final %v)",
		finalStale, del, final, len(live.touched), jobs("good"), jobs("stale"), res.OK(), len(res.Failed), res.FinalErr)
	if !res.OK() {
		return // a failure is always allowed; exit 0 with a file missing never is
	}
	got := snapshot(t, dst)
	for rel, w := range start {
		if !w.typ.IsRegular() || live.touched[rel] {
			continue
		}
		g, ok := got[rel]
		require.True(t, ok, "exit 0 and %q, in SRC unchanged for the whole run, is missing from DST", rel)
		require.True(t, g.typ.IsRegular(), "%q is not a file in DST", rel)
		if s, ok := stale[rel]; ok && s.data == w.data {
			require.True(t, g.data == w.data, "content of %q", rel)
		}
	}
}

// regularFiles returns the regular files below root, relative.
func regularFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for rel, e := range snapshot(t, root) {
		if e.typ.IsRegular() {
			out = append(out, rel)
		}
	}
	slices.Sort(out) // a seed makes the same changes
	return out
}
