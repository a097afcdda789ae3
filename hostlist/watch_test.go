package hostlist

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pipePath returns a path that names a pipe holding content, as
// <(process substitution) gives one: /dev/fd/N.
func pipePath(t *testing.T, content string) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	_, err = w.WriteString(content)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return fmt.Sprintf("/dev/fd/%d", r.Fd())
}

func parse(t *testing.T, s string) []Spec {
	t.Helper()
	ss, err := ParseFile(strings.NewReader(s), "test")
	require.NoError(t, err)
	return ss
}

// A reload (SIGHUP) must not re-read a pipe: read again it is empty, and
// every node it listed would leave the pool.
func TestWatcherNeverRereadsAPipe(t *testing.T) {
	pipe := pipePath(t, "2/:\n")
	initial := parse(t, "2/:\n")
	var lists [][]Spec
	var logged []string
	w := &Watcher{Files: []string{pipe}, Fixed: initial,
		Changed: func(ss []Spec) { lists = append(lists, ss) },
		Logf:    func(f string, a ...any) { logged = append(logged, f) }}
	require.False(t, w.Start(Merge(initial)), "a pipe is not watched")
	w.reload("SIGHUP")
	require.Empty(t, lists, "the node list must not change")
	require.Len(t, logged, 1)
}

// With a regular file and a pipe, a reload re-reads the file and keeps
// the pipe's nodes.
func TestWatcherKeepsPipeNodesOnReload(t *testing.T) {
	pipe := pipePath(t, "2/:\n")
	file := filepath.Join(t.TempDir(), "nodes")
	require.NoError(t, os.WriteFile(file, []byte("web1\n"), 0o644))
	fixed := parse(t, "2/:\n")
	var lists [][]Spec
	w := &Watcher{Files: []string{file, pipe}, Fixed: fixed, Changed: func(ss []Spec) { lists = append(lists, ss) }}
	require.True(t, w.Start(Merge(append(parse(t, "web1\n"), fixed...))))
	require.NoError(t, os.WriteFile(file, []byte("web1\nweb2\n"), 0o644))
	w.reload("SIGHUP")
	require.Len(t, lists, 1)
	require.Equal(t, Merge(parse(t, "2/:\nweb1\nweb2\n")), lists[0])
}
