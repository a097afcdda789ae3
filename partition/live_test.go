//go:build unix

package partition

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatedWalk walks root with filepath.WalkDir but, after the first `after`
// files, blocks until gate is closed (or ctx ends). reached is closed when
// it starts waiting, so a test knows the crawl is provably unfinished.
func gatedWalk(after int, reached chan<- struct{}, gate <-chan struct{}) WalkFunc {
	return func(root string, fn fs.WalkDirFunc) error {
		seen := 0
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if seen == after {
					close(reached)
					<-gate
				}
				seen++
			}
			return fn(p, d, err)
		})
	}
}

// TestLiveFirstPartitionBeforeCrawlEnds proves the live order: the gate
// opens only after the test has received the first partition, so that
// partition was emitted while the walker was blocked in the middle of the
// tree (files 4..6 not yet visited).
func TestLiveFirstPartitionBeforeCrawlEnds(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "a1", "a2", "a3", "b/b1", "b/b2", "c/c1")
	reached, gate := make(chan struct{}), make(chan struct{})
	parts := make(chan Partition, 10)
	type result struct {
		sum Summary
		err error
	}
	res := make(chan result, 1)
	go func() {
		opts := Options{Src: root, OutDir: t.TempDir(), MaxFiles: 2, Walk: gatedWalk(3, reached, gate)}
		sum, err := Run(context.Background(), opts, func(p Partition) error { parts <- p; return nil }, nil)
		close(parts)
		res <- result{sum, err}
	}()

	var first Partition
	select {
	case first = <-parts:
	case <-time.After(10 * time.Second):
		t.Fatal("no partition emitted while the crawl was blocked")
	}
	select {
	case <-reached: // the walker is blocked mid-tree until the gate opens
	case <-time.After(10 * time.Second):
		t.Fatal("the walker never reached its gate")
	}
	select {
	case r := <-res:
		t.Fatalf("Run returned before the gate opened: %+v", r)
	default:
	}
	assert.Equal(t, 1, first.Seq)
	assert.Equal(t, 2, first.Files)
	assert.Len(t, readList(t, first.ListPath, 0), 2, "the emitted list is complete on disk")

	close(gate)
	var r result
	select {
	case r = <-res:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not finish after the gate opened")
	}
	require.NoError(t, r.err)
	n := 1
	for range parts {
		n++
	}
	assert.Equal(t, 3, n)
	assert.Equal(t, int64(6), r.sum.Files)
}

// TestLiveCancel: cancelling mid-crawl closes and emits the open partition,
// then Run returns the context's error; every emitted list is whole.
func TestLiveCancel(t *testing.T) {
	root := t.TempDir()
	mkFiles(t, root, "a1", "a2", "a3", "b/b1", "b/b2", "c/c1")
	reached, cancelled := make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	var emitted []Partition
	go func() {
		<-reached
		cancel() // returns once the contexts derived from ctx are done too
		close(cancelled)
	}()
	opts := Options{Src: root, OutDir: t.TempDir(), MaxFiles: 2,
		Walk: func(r string, fn fs.WalkDirFunc) error {
			// Wait for the cancel to land, then carry on: the crawler's
			// callback must refuse to go further.
			return gatedWalk(3, reached, cancelled)(r, fn)
		}}
	sum, err := Run(ctx, opts, func(p Partition) error { emitted = append(emitted, p); return nil }, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, emitted, 2, "the full partition and the open one")
	assert.Equal(t, 2, emitted[0].Files)
	assert.Equal(t, 1, emitted[1].Files)
	for _, p := range emitted {
		assert.Len(t, readList(t, p.ListPath, 0), p.Files)
	}
	assert.Equal(t, int64(3), sum.Files)
}

// TestRunProgress: progress is reported after each partition, and the
// last report matches the summary.
func TestRunProgress(t *testing.T) {
	root := genTree(t, treeSpec{seed: 9, files: 200, dirs: 10, maxSize: 1 << 20})
	var got []Progress
	sum, err := Run(context.Background(), Options{Src: root, OutDir: t.TempDir(), MaxFiles: 50},
		func(Partition) error { return nil }, func(p Progress) { got = append(got, p) })
	require.NoError(t, err)
	require.NotEmpty(t, got)
	assert.Equal(t, sum.Progress, got[len(got)-1])
	parts := 0
	for _, p := range got {
		require.GreaterOrEqual(t, p.Parts, parts, "progress never goes back")
		parts = p.Parts
	}
	assert.Equal(t, 4, parts)
	assert.False(t, errors.Is(err, context.Canceled))
}
