package partition

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"slices"
)

// collection holds a whole crawl for Parts or Sort: the paths packed into
// fixed 1 MiB blocks (never copied as they grow) and a pointer-free item
// per entry (24 bytes), so memory stays near the size of the paths
// themselves and the garbage collector never scans them.
type collection struct {
	blocks [][]byte
	items  []item
}

const blockBits = 20 // 1 MiB blocks; a path (at most PATH_MAX) never spans two

type item struct {
	off  int   // block<<blockBits | offset in the block
	n    int32 // path length
	bin  int32 // partition, once balanced
	size int64
}

func (c *collection) add(e entry) {
	last := len(c.blocks) - 1
	if last < 0 || len(c.blocks[last])+len(e.rel) > cap(c.blocks[last]) {
		c.blocks = append(c.blocks, make([]byte, 0, max(1<<blockBits, len(e.rel))))
		last++
	}
	b := c.blocks[last]
	c.items = append(c.items, item{off: last<<blockBits | len(b), n: int32(len(e.rel)), size: e.size})
	c.blocks[last] = append(b, e.rel...)
}

func (c *collection) path(it item) []byte {
	b := c.blocks[it.off>>blockBits]
	o := it.off & (1<<blockBits - 1)
	return b[o : o+int(it.n)]
}

// byPath orders items by path, byte-wise.
func (c *collection) byPath(a, b item) int { return bytes.Compare(c.path(a), c.path(b)) }

// pack writes the collection: in path order under the limits, or balanced
// into opts.Parts partitions, each in path order.
func (c *collection) pack(opts *Options, emit func(Partition) error) error {
	if opts.Parts == 0 {
		slices.SortFunc(c.items, c.byPath)
		pk := &packer{opts: opts, emit: emit}
		for _, it := range c.items {
			if err := pk.add(entry{rel: string(c.path(it)), size: it.size}); err != nil {
				pk.abort()
				return err
			}
		}
		return pk.flush()
	}
	c.balance(opts.Parts)
	slices.SortFunc(c.items, func(a, b item) int {
		if x := cmp.Compare(a.bin, b.bin); x != 0 {
			return x
		}
		return c.byPath(a, b)
	})
	var w *bufio.Writer
	next := 0
	for bin := range opts.Parts {
		l, err := createList(opts.OutDir, bin+1, opts.Format, w, opts.syncer())
		if err != nil {
			return err
		}
		w = l.w
		for ; next < len(c.items) && int(c.items[next].bin) == bin; next++ {
			it := c.items[next]
			if err := l.add(entry{rel: string(c.path(it)), size: it.size}); err != nil {
				l.abort()
				return err
			}
		}
		p, err := l.close()
		if err != nil {
			return err
		}
		if err := emit(p); err != nil {
			return err
		}
	}
	return nil
}

// balance sets each item's bin: largest first into the partition with the
// fewest bytes (then fewest entries, then lowest number), the LPT rule
// fpart uses. The spread between the fullest and the emptiest partition is
// then at most the largest entry. Empty entries (size 0, empty
// directories) then go to the partitions with the fewest entries, as fpart
// spreads its empty files, so counts are balanced too. Items are reordered.
func (c *collection) balance(n int) {
	slices.SortFunc(c.items, func(a, b item) int {
		if x := cmp.Compare(b.size, a.size); x != 0 {
			return x
		}
		return c.byPath(a, b)
	})
	h := &bins{bytes: make([]int64, n), files: make([]int, n)}
	for i := range n {
		h.idx = append(h.idx, i)
	}
	heap.Init(h)
	onlyEmpty := false
	for i := range c.items {
		if c.items[i].size == 0 && !onlyEmpty {
			// Only empty entries remain (sizes are sorted): the bytes are
			// final, so rank the partitions by entries alone.
			onlyEmpty = true
			clear(h.bytes)
			heap.Init(h)
		}
		b := h.idx[0]
		c.items[i].bin = int32(b)
		h.bytes[b] += c.items[i].size
		h.files[b]++
		heap.Fix(h, 0)
	}
}

// bins is a min-heap of partition numbers by (bytes, files, number).
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
