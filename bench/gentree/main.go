// Command gentree creates a reproducible file tree for benchmarking
// `drove partition` against fpart: -files files spread over -dirs
// directories (a random recursive tree), with long-tailed sizes (most files small, a
// few very large). Files are sparse (ftruncate), so the tree costs inodes,
// not disk space. The same flags always give the same tree.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
)

func main() {
	root := flag.String("root", "", "directory to create (must not exist)")
	files := flag.Int("files", 200000, "number of files")
	dirs := flag.Int("dirs", 5000, "number of directories")
	maxSize := flag.Int64("max-size", 16<<30, "largest file size in bytes")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *root == "" {
		fmt.Fprintln(os.Stderr, "gentree: -root is required")
		os.Exit(2)
	}
	if err := generate(*root, *files, *dirs, *maxSize, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
}

// generate plans the whole tree from the seed first, then creates it with
// a few goroutines (creation order does not change the result).
func generate(root string, nFiles, nDirs int, maxSize int64, seed uint64) error {
	if err := os.Mkdir(root, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	dirs := make([]string, 0, nDirs+1)
	dirs = append(dirs, root)
	for i := range nDirs {
		// A random recursive tree: each directory's parent is drawn
		// uniformly from those made so far, so the mean depth is about
		// ln(dirs) (8.5 for 5,000), like real trees, with a few deep paths.
		parent := dirs[rng.IntN(len(dirs))]
		d := filepath.Join(parent, fmt.Sprintf("dir%05d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
		dirs = append(dirs, d)
	}
	type file struct {
		path string
		size int64
	}
	plan := make([]file, nFiles)
	for i := range plan {
		// Long tail: log-uniform in [0, maxSize), so the median is
		// sqrt(maxSize) (128 KiB for 16 GiB) and a few files are huge.
		size := int64(math.Exp(rng.Float64()*math.Log(float64(maxSize)))) - 1
		plan[i] = file{filepath.Join(dirs[rng.IntN(len(dirs))], fmt.Sprintf("file%07d.dat", i)), size}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(plan); i += 8 {
				f, err := os.Create(plan[i].path)
				if err == nil {
					err = f.Truncate(plan[i].size)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
