package partition

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkInvariants asserts that parts cover want exactly once each, that
// every partition respects the limits and reports its true counts, and that
// the partitions are numbered 1..n in emitted order.
func checkInvariants(t *testing.T, opts Options, parts []Partition, want map[string]int64) {
	t.Helper()
	seen := map[string]int{}
	for i, p := range parts {
		require.Equal(t, i+1, p.Seq, "partitions are emitted in order")
		require.Equal(t, filepath.Join(opts.OutDir, fmt.Sprintf("part.%06d", i+1)), p.ListPath)
		list := readList(t, p.ListPath, opts.Format.sep())
		var bytes int64
		for _, e := range list {
			seen[e]++
			size, ok := want[e]
			require.True(t, ok, "partition %d lists %q, which is not in the tree", p.Seq, e)
			bytes += size
		}
		assert.Equal(t, len(list), p.Files, "partition %d entry count", p.Seq)
		assert.Equal(t, bytes, p.Bytes, "partition %d byte count", p.Seq)
		if opts.MaxFiles > 0 {
			assert.LessOrEqual(t, p.Files, opts.MaxFiles, "partition %d over the file limit", p.Seq)
		}
		if opts.MaxBytes > 0 && p.Files > 1 {
			assert.LessOrEqual(t, p.Bytes, opts.MaxBytes, "partition %d over the size limit", p.Seq)
		}
		if opts.Parts == 0 {
			assert.NotZero(t, p.Files, "partition %d is empty", p.Seq)
		}
	}
	for e := range want {
		assert.Equal(t, 1, seen[e], "%q must be in exactly one partition", e)
	}
}

func TestRunInvariants(t *testing.T) {
	spec := treeSpec{seed: 1, files: 1500, dirs: 100, symlinks: 40, emptyDirs: 25, maxSize: 1 << 30}
	root := genTree(t, spec)
	cases := []struct {
		name string
		opts Options
	}{
		{"files", Options{MaxFiles: 97}},
		{"size", Options{MaxBytes: 64 << 20}},
		{"files+size", Options{MaxFiles: 50, MaxBytes: 256 << 20}},
		{"size tiny", Options{MaxBytes: 1}},
		{"files empty dirs", Options{MaxFiles: 33, EmptyDirs: true}},
		{"one walker", Options{MaxFiles: 100, Walkers: 1}},
		{"no sizes", Options{MaxFiles: 100, NoSizes: true}},
		{"many walkers", Options{MaxFiles: 100, Walkers: 16}},
		{"stdlib walk", Options{MaxFiles: 100, Walk: filepath.WalkDir}},
		{"sort", Options{MaxFiles: 77, MaxBytes: 1 << 30, Sort: true, EmptyDirs: true}},
		{"newline lists", Options{MaxFiles: 200, Format: ListLines}},
		{"rsync lists", Options{MaxFiles: 200, Format: ListRsync}},
		{"rclone lists", Options{MaxFiles: 200, Format: ListRclone}},
		{"parts", Options{Parts: 7}},
		{"parts empty dirs", Options{Parts: 3, EmptyDirs: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Src, opts.OutDir = root, t.TempDir()
			parts, sum, err := runAll(t, opts)
			require.NoError(t, err)
			want := treeEntries(t, root, opts.EmptyDirs)
			if opts.NoSizes {
				for e := range want {
					want[e] = 0
				}
			}
			checkInvariants(t, opts, parts, want)
			assert.True(t, sum.Complete())
			assert.Equal(t, int64(len(want)), sum.Files)
			assert.Equal(t, len(parts), sum.Parts)
			assert.Equal(t, int64(spec.dirs+spec.emptyDirs+1), sum.Dirs)
			if opts.Parts > 0 {
				require.Len(t, parts, opts.Parts)
			}
		})
	}
}

// TestRunPartsBalance checks the LPT bound: after packing, the fullest
// partition holds at most the largest entry more than the emptiest.
func TestRunPartsBalance(t *testing.T) {
	for _, seed := range []uint64{2, 3, 4} {
		root := genTree(t, treeSpec{seed: seed, files: 500, dirs: 30, maxSize: 10 << 30})
		for _, n := range []int{2, 5, 16} {
			t.Run(fmt.Sprintf("seed%d/n%d", seed, n), func(t *testing.T) {
				opts := Options{Src: root, OutDir: t.TempDir(), Parts: n}
				parts, _, err := runAll(t, opts)
				require.NoError(t, err)
				want := treeEntries(t, root, false)
				checkInvariants(t, opts, parts, want)
				require.Len(t, parts, n)
				var largest int64
				for _, s := range want {
					largest = max(largest, s)
				}
				lo, hi := parts[0].Bytes, parts[0].Bytes
				for _, p := range parts {
					lo, hi = min(lo, p.Bytes), max(hi, p.Bytes)
				}
				assert.LessOrEqual(t, hi-lo, largest, "spread %d over largest file %d", hi-lo, largest)
			})
		}
	}
}

// TestRunDeterministic: with Sort or Parts, two runs over the same tree
// write identical lists, whatever the crawl order.
func TestRunDeterministic(t *testing.T) {
	root := genTree(t, treeSpec{seed: 5, files: 1500, dirs: 100, symlinks: 10, emptyDirs: 10, maxSize: 1 << 24})
	for _, opts := range []Options{
		{MaxFiles: 64, Sort: true, EmptyDirs: true},
		{MaxBytes: 1 << 24, Sort: true},
		{Parts: 6, EmptyDirs: true},
	} {
		var renders []string
		for _, walkers := range []int{1, 8} {
			o := opts
			o.Src, o.OutDir, o.Walkers = root, t.TempDir(), walkers
			parts, _, err := runAll(t, o)
			require.NoError(t, err)
			renders = append(renders, renderLists(t, parts, 0))
		}
		require.Equal(t, renders[0], renders[1])
	}
}

// TestRunBigFileAlone: a file over the size limit sits alone, and the
// partitions around it still respect the limit.
func TestRunBigFileAlone(t *testing.T) {
	root := t.TempDir()
	for i, size := range []int64{100, 200, 5000, 300, 400} {
		f, err := os.Create(filepath.Join(root, fmt.Sprintf("f%d", i)))
		require.NoError(t, err)
		require.NoError(t, f.Truncate(size))
		require.NoError(t, f.Close())
	}
	opts := Options{Src: root, OutDir: t.TempDir(), MaxBytes: 1000, Sort: true}
	parts, _, err := runAll(t, opts)
	require.NoError(t, err)
	checkInvariants(t, opts, parts, treeEntries(t, root, false))
	var lists [][]string
	for _, p := range parts {
		lists = append(lists, readList(t, p.ListPath, 0))
	}
	require.Equal(t, [][]string{{"f0", "f1"}, {"f2"}, {"f3", "f4"}}, lists)
}

func TestBalanceUnit(t *testing.T) {
	var c collection
	for _, e := range []entry{{rel: "a", size: 5}, {rel: "b", size: 4}, {rel: "c", size: 3}, {rel: "d", size: 3}, {rel: "e", size: 3}, {rel: "z", size: 0}, {rel: "y", size: 0}} {
		c.add(e)
	}
	c.balance(2)
	names := make([][]string, 2)
	slices.SortFunc(c.items, c.byPath)
	for _, it := range c.items {
		names[it.bin] = append(names[it.bin], string(c.path(it)))
	}
	// Largest first into the lightest: a5→0, b4→1, c3→1 (4<5), d3→0 (5<7),
	// e3→1 (7<8), then y0 and z0 both to partition 0 (8<10).
	require.Equal(t, [][]string{{"a", "d", "y", "z"}, {"b", "c", "e"}}, names)
}

// TestBalanceSpreadsEmptyEntries: empty files do not pile up in the
// lightest partition; entry counts even out, bytes are unchanged.
func TestBalanceSpreadsEmptyEntries(t *testing.T) {
	var c collection
	c.add(entry{rel: "big", size: 30})
	for i := range 3 {
		c.add(entry{rel: fmt.Sprintf("s%d", i), size: 10})
	}
	for i := range 8 {
		c.add(entry{rel: fmt.Sprintf("e%d", i)})
	}
	c.balance(2)
	files, bytes := make([]int, 2), make([]int64, 2)
	for _, it := range c.items {
		files[it.bin]++
		bytes[it.bin] += it.size
	}
	assert.Equal(t, []int64{30, 30}, bytes)
	assert.Equal(t, []int{6, 6}, files)
}

// TestSyncBeforeEmit: with Sync, every list file and then its directory
// are fsync'd before the partition is emitted (a journal recording it
// must never point at a list a crash can empty).
func TestSyncBeforeEmit(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "a", "b", "c", "d/e", "d/f")
	out := filepath.Join(t.TempDir(), "lists")
	synced := map[string]int{}
	opts := Options{Src: root, OutDir: out, MaxFiles: 2, Sync: true, fsync: func(f *os.File) error {
		synced[f.Name()]++
		return nil
	}}
	n := 0
	_, err := Run(context.Background(), opts, func(p Partition) error {
		n++
		require.Equal(t, 1, synced[p.ListPath], "list %s fsync'd before emit", p.ListPath)
		require.Equal(t, n, synced[out], "its directory fsync'd after it")
		require.Equal(t, 1, synced[filepath.Dir(out)], "the parent of OutDir, once")
		return nil
	}, nil)
	require.NoError(t, err)
	require.Equal(t, 3, n)
}
