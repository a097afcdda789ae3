//go:build slow && unix

package main

// drove sync against real OpenSSH nodes on loopback (internal/sshdtest):
// sessions run as the non-root login user, so the trees live under a
// node's scratch directory and belong to that user.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// sshdSyncDirs makes SRC (a generated tree), and the paths of DST and
// WORK, under the cluster's first scratch directory, all owned by the
// login user.
func sshdSyncDirs(t *testing.T, c *sshdtest.Cluster, o treeOpts) (src, dst, work string) {
	t.Helper()
	base := filepath.Join(c.Nodes[0].Scratch, "sync")
	src, dst, work = filepath.Join(base, "src"), filepath.Join(base, "dst"), filepath.Join(base, "work")
	makeTree(t, src, o)
	require.NoError(t, os.Mkdir(work, 0o755))
	require.NoError(t, filepath.Walk(base, func(p string, _ os.FileInfo, err error) error {
		require.NoError(t, err)
		return os.Lchown(p, c.UID, c.GID)
	}))
	return src, dst, work
}

// rsyncOn reports whether some rsync of a partition runs in a session of
// node n (found by the SSH_CONNECTION its session carries).
func rsyncOn(t *testing.T, c *sshdtest.Cluster, n *sshdtest.Node) bool {
	for _, p := range c.Procs(t, "--files-from=") {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID))
		if err != nil || p.Args[0] != "rsync" {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if strings.HasPrefix(kv, "SSH_CONNECTION=") && strings.HasSuffix(kv, fmt.Sprintf(" %s %d", n.Host, n.Port)) {
				return true
			}
		}
	}
	return false
}

func TestRealSSHSyncHostileTree(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 3})
	src, dst, work := sshdSyncDirs(t, c, treeOpts{dirs: 10, filesPerDir: 12, maxSize: 4096, symlinks: true, hostile: true, seed: 11})
	r := drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-N", c.NodesFile, "-f", "13", "-z", "-d", work, "--verify=checksum", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "final pass done")
	require.Contains(t, r.stderr, "0 differences")
	requireSameTree(t, src, dst, true, true)
	require.NoFileExists(t, filepath.Join(c.Home, "pwned"))
	journal, err := os.ReadFile(filepath.Join(work, "journal"))
	require.NoError(t, err)
	nodes := map[string]bool{}
	for _, m := range strings.Split(string(journal), `"node":"`)[1:] {
		nodes[m[:strings.IndexByte(m, '"')]] = true
	}
	require.Len(t, nodes, 3, "every node copied partitions: %v", nodes)

	// A node that does not see a path is named, and nothing is copied.
	hidden := t.TempDir() // 0700, root's: the login user cannot enter it
	r = drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-N", c.NodesFile, "-d", hidden, src, dst+"2")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: sync: node node1 does not see the work directory "+hidden)
	require.NoDirExists(t, dst+"2")
	readOnly := filepath.Join(filepath.Dir(work), "ro")
	// root's, with root's log directory, which drove does not take over
	require.NoError(t, os.MkdirAll(filepath.Join(readOnly, "log"), 0o755))
	r = drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-n", "node3", "-d", readOnly, src, dst+"2")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: sync: node node3 cannot write work directory "+readOnly)
	require.NoError(t, os.Mkdir(work+"2", 0o755))
	require.NoError(t, os.Chown(work+"2", c.UID, c.GID))
	r = drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-n", "node2", "-d", work+"2", src, filepath.Join(hidden, "dst"))
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: sync: node node2 does not see DST's parent "+hidden)
	// Nothing was journalled: the corrected command works with the same --work.
	r = drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-n", "node2", "-d", work+"2", src, dst+"3")
	require.Equal(t, exitOK, r.code, r.stderr)
}

// slowTree is a tree whose partitions take a while each under
// --bwlimit, so that a test can act while copies run.
var slowTree = treeOpts{dirs: 6, filesPerDir: 6, maxSize: 60 << 10, symlinks: true, seed: 12}

func TestRealSSHSyncNodeKilledMidRun(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 3})
	src, dst, work := sshdSyncDirs(t, c, slowTree)
	// Every rsync waits on a FIFO (its --exclude-from) until the gate
	// opens, after node2 is dead: node2 is killed mid-copy by
	// construction, not by racing copies that may end first.
	gate := newFIFOGate(t, filepath.Join(c.Nodes[0].Scratch, "gate"))
	res := make(chan result, 1)
	go func() {
		res <- drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-N", c.NodesFile, "-f", "3", "-d", work,
			"--tool-args=--exclude-from="+gate.path, "--verify", src, dst)
	}()
	testkit.WaitFor(t, 60*time.Second, "node2 copying", func() bool { return rsyncOn(t, c, c.Nodes[1]) })
	c.Nodes[1].Kill(t)
	require.Less(t, journalCount(t, work, "done"), journalCount(t, work, "part"), "killed mid-run")
	gate.open()
	r := <-res
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: sync: node node2 evicted")
	require.Contains(t, r.stderr, "final pass done")
	requireSameTree(t, src, dst, true, true)
	for n, k := range doneSeqs(t, work) {
		require.Equal(t, 1, k, "partition %d done twice", n)
	}
}

func TestRealSSHSyncResumeAfterCancel(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2})
	src, dst, work := sshdSyncDirs(t, c, slowTree)
	args := []string{"sync", "-F", c.SSHConfig, "-N", c.NodesFile, "-f", "3", "-d", work, "--tool-args=--bwlimit=300", src, dst}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	drain := make(chan struct{})
	res := make(chan result, 1)
	go func() { res <- droveCtx(ctx, nil, drain, args...) }()
	testkit.WaitFor(t, 30*time.Second, "3 partitions done", func() bool { return journalCount(t, work, "done") >= 3 })
	close(drain)
	cancel() // the second Ctrl-C: running copies are killed on their nodes
	r := <-res
	require.Equal(t, exitInterrupted, r.code, r.stderr)
	require.Contains(t, r.stderr, "run the same command again to resume")
	c.WaitNoProcs(t, "--files-from=", 10*time.Second)
	first := doneSeqs(t, work)
	require.Less(t, len(first), journalCount(t, work, "part"), "stopped mid-run")
	logs := map[int]time.Time{}
	for n := range first {
		fi, err := os.Stat(filepath.Join(work, "log", "1", fmt.Sprintf("part.%06d.log", n)))
		require.NoError(t, err)
		logs[n] = fi.ModTime()
	}

	args = append(args[:len(args)-3], "--tool-args=--bwlimit=0", "--verify=checksum", src, dst)
	r = drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "resumed from")
	for n, mt := range logs {
		fi, err := os.Stat(filepath.Join(work, "log", "1", fmt.Sprintf("part.%06d.log", n)))
		require.NoError(t, err)
		require.Equal(t, mt, fi.ModTime(), "partition %d ran again", n)
	}
	for n, k := range doneSeqs(t, work) {
		require.Equal(t, 1, k, "partition %d done twice", n)
	}
	requireSameTree(t, src, dst, true, true)
}

func TestRealSSHSyncRclone(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Skip("rclone is not installed")
	}
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2})
	src, dst, work := sshdSyncDirs(t, c, treeOpts{dirs: 6, filesPerDir: 8, maxSize: 2048, hostile: true, seed: 13})
	require.NoError(t, os.MkdirAll(filepath.Join(dst, "extra"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "extra", "x"), []byte("x"), 0o644))
	require.NoError(t, filepath.Walk(dst, func(p string, _ os.FileInfo, err error) error {
		require.NoError(t, err)
		return os.Lchown(p, c.UID, c.GID)
	}))
	r := drove(t, nil, nil, "sync", "--mode", "rclone", "-F", c.SSHConfig, "-N", c.NodesFile, "-f", "9", "-d", work,
		"--delete", "--verify=checksum", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "final pass done")
	requireSameTree(t, src, dst, false, false)
	require.NoFileExists(t, filepath.Join(c.Home, "pwned"))
}
