package hostlist

import (
	"os"
	"slices"
	"time"
)

// Watcher re-reads node files while a run goes on: when a file's
// modification time or size moves (checked every Interval) and when Reload
// receives (drove sends SIGHUP there). It calls Changed with the whole,
// merged node list each time that list differs from the last one.
//
// Only regular files are re-read. A pipe, a process substitution or
// standard input was read to its end at start and cannot be read again:
// re-reading it would find no nodes and empty the pool. A file that no
// longer parses or cannot be opened is reported through Logf and the last
// good list is kept.
type Watcher struct {
	Fixed    []Spec               // nodes part of every list: given on the command line, or read from a file that is not regular
	Files    []string             // node files; only the regular ones are re-read
	Reload   <-chan os.Signal     // a receive re-reads the files at once
	Interval time.Duration        // how often to look at the files' stamps (default 1s)
	Changed  func([]Spec)         // called with each new list, from Run's goroutine
	Logf     func(string, ...any) // one line per reload that failed

	regular []string // the files that can be re-read
	stamps  map[string]fileStamp
	last    []Spec
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// IsRegular reports whether the node file named name can be read again;
// "-" (standard input), pipes and process substitutions cannot.
func IsRegular(name string) bool {
	if name == "-" {
		return false
	}
	st, err := os.Stat(name)
	return err == nil && st.Mode().IsRegular()
}

// Start records the list read at start and the files' stamps. It reports
// whether any file can be re-read; when none can, Run need not run.
func (w *Watcher) Start(initial []Spec) bool {
	w.last, w.stamps, w.regular = initial, map[string]fileStamp{}, nil
	for _, f := range w.Files {
		if IsRegular(f) {
			w.regular = append(w.regular, f)
		}
	}
	w.moved()
	return len(w.regular) > 0
}

// Run watches until stop is closed.
func (w *Watcher) Run(stop <-chan struct{}) {
	interval := w.Interval
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-w.Reload:
			w.moved()
			w.reload("SIGHUP")
		case <-t.C:
			if w.moved() {
				w.reload("a node file changed")
			}
		}
	}
}

// moved reports whether a regular node file's modification time or size
// moved since the last look.
func (w *Watcher) moved() bool {
	moved := false
	for _, f := range w.regular {
		st, err := os.Stat(f)
		if err != nil {
			continue
		}
		s := fileStamp{st.ModTime(), st.Size()}
		if old, ok := w.stamps[f]; !ok || old != s {
			moved = moved || ok
			w.stamps[f] = s
		}
	}
	return moved
}

// reload reads the regular files again; the nodes of the other files are
// kept from the list read at start (Fixed).
func (w *Watcher) reload(why string) {
	if len(w.regular) == 0 {
		w.logf("%s: no node file can be read again (pipes and standard input are read once): keeping the node list", why)
		return
	}
	specs, err := w.read()
	if err != nil {
		w.logf("%s: keeping the node list: %v", why, err)
		return
	}
	if slices.Equal(specs, w.last) {
		return
	}
	w.last = specs
	w.Changed(specs)
}

func (w *Watcher) read() ([]Spec, error) {
	specs := slices.Clone(w.Fixed)
	for _, f := range w.regular {
		r, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		ss, err := ParseFile(r, f)
		r.Close()
		if err != nil {
			return nil, err
		}
		specs = append(specs, ss...)
	}
	return Merge(specs), nil
}

func (w *Watcher) logf(format string, args ...any) {
	if w.Logf != nil {
		w.Logf(format, args...)
	}
}
