package syncer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// madeWork is what a run made in and for its work directory before the
// sync was journalled: the directories it created, the empty journal it
// created, the log directory it gave the nodes' user. A run refused
// before its journal's first record undoes them, so a refused sync leaves
// no work directory behind (and a given one as it was).
type madeWork struct {
	dirs    []string // created, deepest first (the work directory first)
	journal *journal // created by this run (nil: it was there)
	logs    string   // the log directory this run made (worklogs.go)
}

// missingDirs returns dir and the directories above it that do not exist,
// deepest first: those a MkdirAll of dir creates.
func missingDirs(dir string) []string {
	var m []string
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return m
		}
		m = append(m, p)
		if p == filepath.Dir(p) {
			return m
		}
	}
}

// undo removes what the run made, never anything else: the journal only
// while this run still holds its lock and it is empty, and each directory
// only when empty (another run may have put something there since), the
// deepest first, stopping at the first it cannot remove. A journal cannot
// be removed while open on Windows; it then stays with its directories.
func (w *madeWork) undo() {
	if j := w.journal; j != nil {
		if fi, err := j.f.Stat(); err == nil && fi.Size() == 0 {
			_ = os.Remove(j.path)
		}
	}
	if w.logs != "" {
		_ = os.Remove(w.logs)
	}
	for _, d := range w.dirs {
		if os.Remove(d) != nil {
			return
		}
	}
}
