package partition

import (
	"bufio"
	"cmp"
	"container/heap"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// listFile is an open partition list being written.
type listFile struct {
	part Partition
	f    *os.File
	w    *bufio.Writer
	fmt  ListFormat
}

// createList creates the list file for partition seq; it never overwrites.
func createList(outDir string, seq int, format ListFormat) (*listFile, error) {
	p := filepath.Join(outDir, ListName(seq))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("partition: list: %w", err)
	}
	return &listFile{part: Partition{Seq: seq, ListPath: p}, f: f, w: bufio.NewWriterSize(f, 64<<10), fmt: format}, nil
}

func (l *listFile) add(e entry) error {
	if err := writeEntry(l.w, l.fmt, e.rel); err != nil {
		return fmt.Errorf("partition: list %s: %w", l.part.ListPath, err)
	}
	l.part.Files++
	l.part.Bytes += e.size
	return nil
}

// close flushes and closes the file and returns its partition.
func (l *listFile) close() (Partition, error) {
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Partition{}, fmt.Errorf("partition: list %s: %w", l.part.ListPath, err)
	}
	return l.part, nil
}

// abort closes the file after an error, keeping what was written.
func (l *listFile) abort() {
	l.w.Flush()
	l.f.Close()
}

// packer fills partitions in arrival order, closing each as soon as the
// next entry would break a limit. Only the open list file is held.
type packer struct {
	opts *Options
	emit func(Partition) error
	cur  *listFile
	seq  int
}

func (p *packer) add(e entry) error {
	if p.cur != nil && p.opts.MaxBytes > 0 && p.cur.part.Bytes+e.size > p.opts.MaxBytes {
		if err := p.flush(); err != nil {
			return err
		}
	}
	if p.cur == nil {
		l, err := createList(p.opts.OutDir, p.seq+1, p.opts.Format)
		if err != nil {
			return err
		}
		p.seq++
		p.cur = l
	}
	if err := p.cur.add(e); err != nil {
		return err
	}
	full := (p.opts.MaxFiles > 0 && p.cur.part.Files >= p.opts.MaxFiles) ||
		(p.opts.MaxBytes > 0 && p.cur.part.Bytes >= p.opts.MaxBytes)
	if full {
		return p.flush()
	}
	return nil
}

// flush closes the open partition, if any, and emits it.
func (p *packer) flush() error {
	if p.cur == nil {
		return nil
	}
	l := p.cur
	p.cur = nil
	part, err := l.close()
	if err != nil {
		return err
	}
	return p.emit(part)
}

// abort drops the open partition after an error.
func (p *packer) abort() {
	if p.cur != nil {
		p.cur.abort()
		p.cur = nil
	}
}

// sortEntries orders entries by path, byte-wise.
func sortEntries(es []entry) {
	slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.rel, b.rel) })
}

// bins is a min-heap of partitions by (bytes, files, index).
type bins struct {
	idx   []int
	bytes []int64
	files []int
}

func (b *bins) Len() int { return len(b.idx) }
func (b *bins) Less(i, j int) bool {
	x, y := b.idx[i], b.idx[j]
	if b.bytes[x] != b.bytes[y] {
		return b.bytes[x] < b.bytes[y]
	}
	if b.files[x] != b.files[y] {
		return b.files[x] < b.files[y]
	}
	return x < y
}
func (b *bins) Swap(i, j int) { b.idx[i], b.idx[j] = b.idx[j], b.idx[i] }
func (b *bins) Push(x any)    { b.idx = append(b.idx, x.(int)) }
func (b *bins) Pop() any {
	n := len(b.idx) - 1
	x := b.idx[n]
	b.idx = b.idx[:n]
	return x
}

// balance assigns entries to n partitions, largest first into the
// partition with the fewest bytes (then fewest entries, then lowest
// number): the LPT rule fpart uses. The spread between the fullest and the
// emptiest partition is at most the largest entry. Each returned partition
// is in path order. es is reordered.
func balance(es []entry, n int) [][]entry {
	slices.SortStableFunc(es, func(a, b entry) int {
		if c := cmp.Compare(b.size, a.size); c != 0 {
			return c
		}
		return cmp.Compare(a.rel, b.rel)
	})
	h := &bins{bytes: make([]int64, n), files: make([]int, n)}
	for i := range n {
		h.idx = append(h.idx, i)
	}
	heap.Init(h)
	out := make([][]entry, n)
	for _, e := range es {
		i := h.idx[0]
		out[i] = append(out[i], e)
		h.bytes[i] += e.size
		h.files[i]++
		heap.Fix(h, 0)
	}
	for _, part := range out {
		sortEntries(part)
	}
	return out
}
