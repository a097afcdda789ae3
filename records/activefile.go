package records

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/drove-dev/drove/runner"
)

// activeFile keeps the active-nodes file up to date: one "node: command" line per
// running job, replaced atomically (written to a temporary file in the same
// directory, then renamed), so a reader never sees a partial list. Writes
// happen in a goroutine of their own; changes that arrive while one is
// being written are folded into the next, so the runner never waits on the
// disk. Close writes the final, empty, file.
type activeFile struct {
	path string

	mu      sync.Mutex
	running map[slotKey]string
	dirty   chan struct{}
	done    chan struct{}
	err     error
}

type slotKey struct {
	node string
	slot int
}

func newActiveFile(path string) (*activeFile, error) {
	a := &activeFile{path: path, running: map[slotKey]string{}, dirty: make(chan struct{}, 1), done: make(chan struct{})}
	if err := a.write(nil); err != nil {
		return nil, err
	}
	go a.loop()
	return a, nil
}

func (a *activeFile) Event(ev runner.Event) {
	k := slotKey{ev.Node, ev.Slot}
	a.mu.Lock()
	switch ev.Kind {
	case runner.JobStarted:
		a.running[k] = ev.Job.Cmd
	case runner.JobSucceeded, runner.JobFailed:
		delete(a.running, k)
	default:
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	select {
	case a.dirty <- struct{}{}:
	default:
	}
}

func (a *activeFile) loop() {
	defer close(a.done)
	for range a.dirty {
		if err := a.write(a.snapshot()); err != nil {
			a.mu.Lock()
			a.err = err
			a.mu.Unlock()
		}
	}
}

func (a *activeFile) snapshot() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	lines := make([]string, 0, len(a.running))
	for k, cmd := range a.running {
		lines = append(lines, fmt.Sprintf("%s: %s\n", k.node, strings.ReplaceAll(cmd, "\n", " ")))
	}
	slices.Sort(lines)
	return lines
}

func (a *activeFile) write(lines []string) error {
	return writeAtomic(a.path, []byte(strings.Join(lines, "")))
}

// Close stops the writer and leaves the file empty.
func (a *activeFile) Close() error {
	close(a.dirty)
	<-a.done
	if err := a.write(nil); err != nil {
		return err
	}
	return a.err
}
