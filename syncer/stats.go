package syncer

import (
	"strings"

	"github.com/drove-dev/drove/copytool"
)

// Tally counts what copies did, as their tools reported it
// (copytool.Stats): what they transferred, what DST already had, apart.
type Tally struct {
	Files, Bytes int64 // entries transferred, and the size of the regular files among them
	Present      int64 // entries DST already had up to date: nothing was sent
	Copies       int   // copies counted
	Unreported   int   // copies among them whose tool printed no statistics (their counts are unknown)
}

func (t *Tally) add(s copytool.Stats) {
	t.Copies++
	if !s.Reported {
		t.Unreported++
		return
	}
	t.Files += s.Files
	t.Bytes += s.Bytes
	t.Present += s.Present
}

// Skip is a kind of entry no copy of the run took, and why.
type Skip struct {
	Count int64
	What  string // "symbolic links", "devices, FIFOs or sockets"
	Why   string
}

// attemptStats reads what the tool printed in the last attempt logged in
// log; Reported is false when it cannot be read or printed no statistics.
func attemptStats(tool copytool.Tool, log string) copytool.Stats {
	var s copytool.Stats
	text, err := lastAttempt(log)
	if err != nil {
		return s
	}
	for l := range strings.SplitSeq(text, "\n") {
		s.Read(tool, l)
	}
	return s
}

// toolError is the line of the last attempt logged in log that says why
// it failed: the tool's own (copytool.Stats.ErrorLine), else, when the
// tool printed no statistics (it did not run, or died), the attempt's
// last line, which is then the wrapper's (a mkdir that failed) or the
// tool's last words; "" when there is none.
func toolError(tool copytool.Tool, log string) string {
	text, err := lastAttempt(log)
	if err != nil {
		return ""
	}
	var s copytool.Stats
	last := ""
	for l := range strings.SplitSeq(text, "\n") {
		s.Read(tool, l)
		if l != "" && l != exit23Line && !strings.HasPrefix(l, "{") {
			last = l
		}
	}
	switch {
	case s.ErrorLine != "":
		return s.ErrorLine
	case !s.Reported && last != "":
		return copytool.Printable(last)
	}
	return ""
}

// skips are the kinds of entries this run's copies did not take: the
// symbolic links rclone skipped in the partitions (links), and the
// devices, FIFOs and sockets: the crawl lists none (specials of them
// this run), which leaves them to the final pass, which rsync copies
// and rclone skips (finalSpecials, named in its log). The caller holds
// m.mu.
func (m *migration) skips() []Skip {
	var out []Skip
	if m.skippedLinks > 0 {
		out = append(out, Skip{Count: m.skippedLinks, What: "symbolic links", Why: "rclone copies symbolic links only when told to follow them (-L, --copy-links) or to store them as .rclonelink files (--links)"})
	}
	specials := m.crawlSpecials
	switch {
	case m.o.Tool == copytool.Rclone:
		specials = max(specials, m.finalSpecials)
		if specials > 0 {
			out = append(out, Skip{Count: specials, What: "devices, FIFOs or sockets", Why: "rclone copies none"})
		}
	case !m.res.FinalRan && specials > 0:
		out = append(out, Skip{Count: specials, What: "devices, FIFOs or sockets", Why: "partitions hold only files and symbolic links; the final pass, which copies them, did not run"})
	}
	return out
}
