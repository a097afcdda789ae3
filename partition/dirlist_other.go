//go:build !linux

package partition

// batchedCrawl is false off Linux: the crawl is FastWalk, one callback per
// entry, opening directories by path.
const batchedCrawl = false

func (c *crawler) fdWalk(int) error { panic("partition: fdWalk needs Linux") }
