//go:build !linux

package partition

// batchedCrawl is false off Linux: every entry gets its own callback.
const batchedCrawl = false

func (c *crawler) listDir(dir, rel string) error { panic("partition: listDir needs Linux") }
