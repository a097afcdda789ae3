//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
)

// drove copy and rcopy over in-process SFTP nodes reached through
// ssh_config, and their exit statuses: 0 all copied, 1 a node failed, 2 bad
// input (one line, nothing copied), 130 interrupted.
func TestCopyCommand(t *testing.T) {
	f := sshtest.NewFleet(t, 2, sshtest.Options{SFTP: true})
	dir := t.TempDir()
	src := filepath.Join(dir, "conf")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "d", "a file"), []byte("x"), 0o640))
	dest := filepath.Join(t.TempDir(), "dest") + "/"

	r := drove(t, nil, nil, "copy", "-F", f.SSHConfig, "-n", "node[1-2]", "-n", ":", "-v", src, dest)
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, n := range []string{"node1", "node2", "local"} {
		require.Contains(t, r.stderr, "drove: copy: "+n+": 1 files, 2 directories, 0 links, 1 bytes\n")
	}
	got, err := os.ReadFile(filepath.Join(dest, "conf", "d", "a file"))
	require.NoError(t, err)
	require.Equal(t, "x", string(got))

	// Gathered: DEST/NODE/conf for each node, with the same content.
	back := t.TempDir()
	for _, args := range [][]string{{"rcopy"}, {"copy", "--reverse"}} {
		r = drove(t, nil, nil, append(args, "-F", f.SSHConfig, "-n", "node1,node2", src, back)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Empty(t, r.stderr)
		for _, n := range []string{"node1", "node2"} {
			got, err := os.ReadFile(filepath.Join(back, n, "conf", "d", "a file"))
			require.NoError(t, err)
			require.Equal(t, "x", string(got))
		}
	}

	// A node that cannot be reached: reported, exit 1, the other copied.
	dead := sshtest.Refusing(t)
	cfg := writeFile(t, "cfg", "Include "+f.SSHConfig+"\nHost dead\n  HostName 127.0.0.1\n  Port "+strings.TrimPrefix(dead.String(), "127.0.0.1:")+"\n")
	dest2 := filepath.Join(t.TempDir(), "f")
	r = drove(t, nil, nil, "copy", "-F", cfg, "-n", "dead", "-n", "node1", filepath.Join(src, "d", "a file"), dest2)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: copy: dead: ")
	require.Contains(t, r.stderr, "drove: copy: 1 of 2 nodes failed\n")
	_, err = os.Stat(dest2)
	require.NoError(t, err)

	// Bad input: one line, exit 2, nothing copied.
	for _, args := range [][]string{
		{"copy", "-n", ":", src},
		{"copy", "-n", ":", filepath.Join(dir, "missing"), dest2 + "x"},
		{"copy", src, dest2 + "x"},
		{"copy", "-n", ":", "-f", "-1", src, dest2 + "x"},
	} {
		r = drove(t, nil, nil, args...)
		require.Equal(t, exitUsage, r.code, "%v: %s", args, r.stderr)
		require.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
		_, err = os.Stat(dest2 + "x")
		require.ErrorIs(t, err, os.ErrNotExist)
	}

	// Interrupted before it started: exit 130, nothing copied.
	drain := make(chan struct{})
	close(drain)
	r = drove(t, nil, drain, "copy", "-F", f.SSHConfig, "-n", "node1", src, dest2+"y")
	require.Equal(t, exitInterrupted, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: copy: interrupted: 0 of 1 nodes done\n")
	_, err = os.Stat(dest2 + "y")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestCopyNodeChoice: drove copy takes pdsh's and clush's ways of naming
// nodes as run does: -w, -g (ClusterShell groups), -a, -x and -X.
func TestCopyNodeChoice(t *testing.T) {
	f := sshtest.NewFleet(t, 3, sshtest.Options{SFTP: true})
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "groups.d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "groups.d", "c.yaml"), []byte("local:\n  all: 'node[1-3]'\n  odd: 'node[1,3]'\n"), 0o644))
	src := writeFile(t, "f", "x")
	copied := func(args ...string) []string {
		t.Helper()
		dest := filepath.Join(t.TempDir(), "d") + "/"
		r := droveWithGroups(t, dir, append(append([]string{"copy", "-F", f.SSHConfig, "-v"}, args...), src, dest)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		var got []string
		for _, l := range strings.Split(r.stderr, "\n") {
			if n, _, ok := strings.Cut(strings.TrimPrefix(l, "drove: copy: "), ": 1 files"); ok {
				got = append(got, n)
			}
		}
		return got
	}
	require.ElementsMatch(t, []string{"node1", "node2"}, copied("-w", "node[1-2]"))
	require.ElementsMatch(t, []string{"node1", "node3"}, copied("-g", "odd"))
	require.ElementsMatch(t, []string{"node1", "node2"}, copied("-a", "-x", "node3"))
	require.ElementsMatch(t, []string{"node2"}, copied("-a", "-X", "odd"))

	r := droveWithGroups(t, dir, "copy", "-w", "node1", "-x", "node1", src, filepath.Join(t.TempDir(), "e"))
	require.Equal(t, exitUsage, r.code)
	require.Equal(t, "drove: no nodes: --exclude leaves out every node listed\n", r.stderr)
}
