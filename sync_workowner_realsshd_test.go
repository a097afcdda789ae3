//go:build slow && linux

package main

// drove sync run as root while the nodes log in as another user (the
// sshdtest login user): the work directory drove makes must be usable by
// them, keep what drove trusts out of their hands, and a work directory
// drove made and then refused is not left behind.

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/drove-dev/drove/internal/shquote"
	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/require"
)

// owner is the uid and permission bits of p.
func owner(t *testing.T, p string) (int, fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	return int(fi.Sys().(*syscall.Stat_t).Uid), fi.Mode().Perm()
}

func TestRealSSHSyncAsRootMakesWorkForNodeUser(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2})
	src, dst, _ := sshdSyncDirs(t, c, treeOpts{dirs: 4, filesPerDir: 5, maxSize: 2048, seed: 21})
	base := filepath.Dir(src)

	// WORK and its parent do not exist: drove makes them, and the nodes'
	// user can write its logs.
	work := filepath.Join(base, "made", "work")
	r := drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-N", c.NodesFile, "-d", work, "--verify=checksum", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireSameTree(t, src, dst, true, true)
	// What drove reads and the nodes' copies trust (the journal, the
	// lists) stays drove's (root's); only the logs are the nodes' user's,
	// and nothing is writable by anyone else.
	uid, mode := owner(t, work)
	require.Equal(t, 0, uid, "work directory owner")
	require.Equal(t, fs.FileMode(0o755), mode)
	uid, mode = owner(t, filepath.Join(work, "log"))
	require.Equal(t, c.UID, uid, "log directory owner")
	require.Zero(t, mode&0o022, "log directory mode %#o", mode)
	require.NoError(t, filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		uid, mode := owner(t, p)
		require.Zero(t, mode&0o022, "%s has mode %#o", p, mode)
		if rel, _ := filepath.Rel(work, p); rel != "log" && !strings.HasPrefix(rel, "log/") {
			require.Equal(t, 0, uid, "%s is not root's", p)
		}
		return nil
	}))
	// The same command again finds it as it left it: nothing to copy.
	r = drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-N", c.NodesFile, "-d", work, src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)

	// A sync refused after drove made its work directory leaves none
	// behind: here the nodes do not see SRC (root's private directory).
	hidden := t.TempDir()
	hiddenSrc := filepath.Join(hidden, "src")
	require.NoError(t, os.Mkdir(hiddenSrc, 0o755))
	refused := filepath.Join(base, "refused")
	r = drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-N", c.NodesFile, "-d", filepath.Join(refused, "work"), hiddenSrc, dst+"2")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "does not see SRC "+hiddenSrc)
	require.NoDirExists(t, refused)

	// A log directory that is there already and not the nodes' user's is
	// not taken over: drove refuses, names the command that fixes it, and
	// leaves the directories it did not make. That command works.
	given := filepath.Join(base, "given")
	require.NoError(t, os.MkdirAll(filepath.Join(given, "log"), 0o755))
	r = drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-N", c.NodesFile, "-d", given, src, dst+"3")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: sync: node node1 cannot write work directory "+given)
	_, fix, ok := strings.Cut(r.stderr, "as root: ")
	require.True(t, ok, "no command in %q", r.stderr)
	fix, _, _ = strings.Cut(fix, "\n")
	require.Equal(t, fmt.Sprintf("chown -R %d:%d %s", c.UID, c.GID, shquote.Quote(filepath.Join(given, "log"))), fix)
	require.DirExists(t, filepath.Join(given, "log"))
	require.NoFileExists(t, filepath.Join(given, "journal"), "the refused work directory keeps nothing of the run")
	out, err := exec.Command("sh", "-c", fix).CombinedOutput()
	require.NoError(t, err, "%s", out)
	r = drove(t, nil, nil, "sync", "-F", c.SSHConfig, "-N", c.NodesFile, "-d", given, src, dst+"3")
	require.Equal(t, exitOK, r.code, r.stderr)
	requireSameTree(t, src, dst+"3", true, true)
}
