package termview

import (
	"fmt"
	"io"

	"github.com/drove-dev/drove/partition"
)

// Partition renders crawl progress: a spinner line when its screen is
// live, nothing otherwise (the summary line is always printed).
type Partition struct {
	scr *Screen
	w   io.Writer
}

// NewPartition returns the view of a crawl on scr.
func NewPartition(scr *Screen) *Partition {
	st := &Partition{scr: scr, w: scr.Messages()}
	scr.Set(Status{Text: "crawling", Spin: true})
	return st
}

// Update shows the crawl's progress.
func (st *Partition) Update(p partition.Progress) {
	st.scr.Set(Status{Spin: true, Text: fmt.Sprintf("crawling: %d files, %s, %d dirs, %d partitions, %d skipped",
		p.Files, partition.FormatSize(p.Bytes), p.Dirs, p.Parts, p.Skipped)})
}

// Println prints a whole line without tearing the spinner.
func (st *Partition) Println(line string) {
	fmt.Fprintln(st.w, line)
}

// Finish removes the spinner.
func (st *Partition) Finish() {
	st.scr.Clear()
}
