package termview

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/drove-dev/drove/partition"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Partition renders crawl progress on stderr: a spinner when stderr is
// a terminal, nothing otherwise (the summary line is always printed).
type Partition struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

// NewPartition returns the view of a crawl on stderr.
func NewPartition(stderr io.Writer) *Partition {
	st := &Partition{w: stderr}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		st.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(f),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionSetDescription("crawling"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return st
}

// Update shows the crawl's progress.
func (st *Partition) Update(p partition.Progress) {
	if st.bar != nil {
		st.bar.Describe(fmt.Sprintf("%d files, %s, %d dirs, %d partitions, %d skipped",
			p.Files, partition.FormatSize(p.Bytes), p.Dirs, p.Parts, p.Skipped))
	}
}

// Println prints a whole line without tearing the spinner.
func (st *Partition) Println(line string) {
	if st.bar != nil {
		progressbar.Bprintln(st.bar, line)
		return
	}
	fmt.Fprintln(st.w, line)
}

// Finish removes the spinner.
func (st *Partition) Finish() {
	if st.bar != nil {
		st.bar.Finish()
		st.bar = nil
	}
}
