package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/drove-dev/drove/nodes"
	"github.com/drove-dev/drove/runner"
)

// nodeWatcher re-reads the node files given with -N when they change
// (checked every interval) and on SIGHUP, and sends the whole node list to
// the runner when it differs from the last one sent. A file that no longer
// parses is reported in one line and the last good list is kept.
type nodeWatcher struct {
	flags    *fleetFlags
	stderr   io.Writer
	hup      <-chan os.Signal
	interval time.Duration
	build    func([]nodes.Spec) []runner.Node

	stamps map[string]fileStamp
	last   []nodes.Spec
	out    chan []runner.Node
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func newNodeWatcher(f *fleetFlags, e *env, initial []nodes.Spec, build func([]nodes.Spec) []runner.Node) *nodeWatcher {
	w := &nodeWatcher{flags: f, stderr: e.stderr, hup: e.hup, interval: time.Second, build: build,
		stamps: map[string]fileStamp{}, last: initial, out: make(chan []runner.Node, 1)}
	w.changed() // record the files' stamps as read at start
	return w
}

// watched reports whether any node file can be re-read (stdin cannot).
func (w *nodeWatcher) watched() bool {
	for _, f := range w.flags.NodeFile {
		if f != "-" {
			return true
		}
	}
	return false
}

// changed reports whether a node file's modification time or size moved.
func (w *nodeWatcher) changed() bool {
	moved := false
	for _, f := range w.flags.NodeFile {
		if f == "-" {
			continue
		}
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

// run watches until stop is closed.
func (w *nodeWatcher) run(stop <-chan struct{}) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-w.hup:
			w.changed()
			w.reload("SIGHUP")
		case <-t.C:
			if w.changed() {
				w.reload("a node file changed")
			}
		}
	}
}

func (w *nodeWatcher) reload(why string) {
	var specs []nodes.Spec
	for _, s := range w.flags.Node {
		sp, err := nodes.ParseList(s)
		if err == nil {
			specs = append(specs, sp...)
		}
	}
	for _, f := range w.flags.NodeFile {
		if f == "-" {
			continue
		}
		r, err := os.Open(f)
		if err != nil {
			fmt.Fprintf(w.stderr, "drove: %s: keeping the node list: %v\n", why, err)
			return
		}
		ss, err := nodes.ParseFile(r, f)
		r.Close()
		if err != nil {
			fmt.Fprintf(w.stderr, "drove: %s: keeping the node list: %v\n", why, err)
			return
		}
		specs = append(specs, ss...)
	}
	specs = nodes.Merge(specs)
	if slices.Equal(specs, w.last) {
		return
	}
	w.last = specs
	// Only the newest list matters: replace one not yet taken.
	select {
	case <-w.out:
	default:
	}
	w.out <- w.build(specs)
}
