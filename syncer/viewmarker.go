package syncer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drove-dev/drove/internal/randhex"
	"github.com/drove-dev/drove/runner"
)

// viewMarkerPrefix starts the name of drove's view marker.
const viewMarkerPrefix = ".drove-view."

// viewMarker writes an empty file of a fresh random name at the top of SRC
// (readable by every user: nodes may run jobs as another one) and returns
// its name and how to remove it; SRC's mtime is kept (a change made at
// the top of SRC while the marker is there loses its mtime update). A final pass that deletes runs only on a
// node that sees it (copy.sh's MARK): a node whose view of SRC is older
// than the marker (a lagging replica, an NFS client's cache of the top
// directory) would delete from DST what it cannot see. The final pass
// never copies the marker.
func (o *Options) viewMarker() (name string, remove func(), err error) {
	name = viewMarkerPrefix + randhex.String(12)
	p := filepath.Join(o.Src, name)
	fi, err := os.Stat(o.Src)
	if err != nil {
		return "", nil, fmt.Errorf("sync: writing the view marker into SRC: %w", err)
	}
	// SRC's mtime is put back at once, so that the pass copies it as it
	// was, and again after the marker is gone.
	mtime := func() { _ = os.Chtimes(o.Src, time.Time{}, fi.ModTime()) }
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", nil, fmt.Errorf("sync: writing the view marker into SRC: %w", err)
	}
	mtime()
	if err := f.Close(); err != nil {
		os.Remove(p)
		mtime()
		return "", nil, fmt.Errorf("sync: writing the view marker into SRC: %w", err)
	}
	return name, func() { os.Remove(p); mtime() }, nil
}

// staleViewError is err, from an attempt of the final pass, said plainly
// when it is copy.sh's exit for a node that did not see the view marker.
func staleViewError(err error) error {
	if ee, ok := errors.AsType[*runner.ExitError](err); ok && ee.Status == exitStaleView {
		return fmt.Errorf("its view of SRC is stale (it does not see the file drove wrote at the top of SRC before the pass), so nothing was deleted: %w", err)
	}
	return err
}
