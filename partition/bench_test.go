package partition

import (
	"context"
	"os"
	"testing"
)

// BenchmarkRunLive crawls the tree named by $DROVE_BENCH_TREE (made by
// bench/gentree) in live mode with a file limit; skipped without it.
func BenchmarkRunLive(b *testing.B) {
	tree := os.Getenv("DROVE_BENCH_TREE")
	if tree == "" {
		b.Skip("set DROVE_BENCH_TREE to a tree made by bench/gentree")
	}
	for b.Loop() {
		out := b.TempDir()
		_, err := Run(context.Background(), Options{Src: tree, OutDir: out, MaxFiles: 2048}, func(Partition) error { return nil }, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
}
