//go:build slow && unix

package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/stretchr/testify/require"
)

// copyTree builds a tree for drove copy's tests: names that a shell, a
// line-based protocol or an option parser would trip on (pdcp carries
// names in lines, so newline names go in only when withNewline), modes,
// mtimes and, with links, symbolic links.
func copyTree(t *testing.T, dir string, withNewline, links bool) {
	t.Helper()
	names := []string{"plain", "with space", "-rf", "--help", "..dots", `quo"te`, "it's", "$(touch pwned)", "semi;colon", "star*"}
	if withNewline {
		names = append(names, "new\nline", "\xff-not-utf8")
	}
	old := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub dir", "deeper"), 0o755))
	for i, n := range names {
		for _, d := range []string{dir, filepath.Join(dir, "sub dir", "deeper")} {
			p := filepath.Join(d, n)
			require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte(n), 1000*i+1), 0o644))
			require.NoError(t, os.Chmod(p, fs.FileMode(0o600|i%3*0o044|i%2*0o100)))
			require.NoError(t, os.Chtimes(p, old, old.Add(time.Duration(i)*time.Hour)))
		}
	}
	if links {
		require.NoError(t, os.Symlink("../plain", filepath.Join(dir, "sub dir", "link")))
		require.NoError(t, os.Symlink("/nonexistent", filepath.Join(dir, "dangling")))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "sub dir", "deeper"), 0o750))
	for _, d := range []string{filepath.Join(dir, "sub dir", "deeper"), filepath.Join(dir, "sub dir")} {
		require.NoError(t, os.Chtimes(d, old, old))
	}
}

// treeState is "path mode mtime content-or-target" per entry, sorted by
// path; mtimes to the second (SFTP's and pdcp's precision), the top
// directory's mode and mtime left out.
func treeState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		var what string
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			what, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			var c []byte
			c, err = os.ReadFile(p)
			what = fmt.Sprintf("%d bytes %x", len(c), c[:min(len(c), 16)])
			if len(c) > 0 {
				what += fmt.Sprintf(" sum %d", bytes.Count(c, c[:1]))
			}
		}
		mtime := fi.ModTime().Unix()
		if fi.Mode()&fs.ModeSymlink != 0 {
			mtime = 0
		}
		fmt.Fprintf(&b, "%q %v %d %s\n", rel, fi.Mode(), mtime, what)
		return err
	}))
	return b.String()
}

// TestRealSSHCopyMatchesPdcp: drove copy to real sshd nodes (internal-sftp)
// gives, file by file, what pdcp -r -p gives (content, mode, mtime), and a
// tree with newlines, bytes that are not UTF-8 and links (which pdcp cannot
// carry) arrives identical to the source.
func TestRealSSHCopyMatchesPdcp(t *testing.T) {
	pdcp, err := exec.LookPath("pdcp")
	if err != nil {
		t.Skip("pdcp (Debian package pdsh) is not installed")
	}
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2})
	src := filepath.Join(t.TempDir(), "tree")
	copyTree(t, src, false, false)
	require.NoError(t, os.Chmod(filepath.Dir(src), 0o755))
	dest := c.Nodes[0].Scratch

	r := drove(t, nil, nil, "copy", "-F", c.SSHConfig, "-n", "node1", "-n", "node2", src, dest+"/drove/")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Empty(t, r.stderr)

	// pdcp -r wants an existing directory, which the login user can write.
	require.NoError(t, os.Mkdir(dest+"/pdcp", 0o755))
	require.NoError(t, os.Chown(dest+"/pdcp", c.UID, c.GID))
	cmd := exec.Command(pdcp, "-R", "ssh", "-l", c.User, "-w", "node1", "-r", "-p", src, dest+"/pdcp")
	cmd.Env = append(os.Environ(), "PDSH_RCMD_TYPE=ssh", "PDSH_SSH_ARGS=-a -x -F "+c.SSHConfig+" -l%u %h")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "pdcp: %s", out)

	want := treeState(t, filepath.Join(dest, "pdcp", "tree"))
	require.NotEmpty(t, want)
	require.Equal(t, want, treeState(t, filepath.Join(dest, "drove", "tree")), "drove copy and pdcp -r -p differ")
	require.Equal(t, treeState(t, src), want, "pdcp did not copy the tree exactly (the oracle itself)")

	// What pdcp cannot carry, drove can.
	hostile := filepath.Join(t.TempDir(), "hostile")
	copyTree(t, hostile, true, true)
	require.NoError(t, os.Chmod(filepath.Dir(hostile), 0o755))
	r = drove(t, nil, nil, "copy", "-F", c.SSHConfig, "-N", c.NodesFile, hostile, dest+"/h/")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, treeState(t, hostile), treeState(t, filepath.Join(dest, "h", "hostile")))
	entries, err := os.ReadDir(filepath.Join(dest, "h"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files left")
	_, err = os.Stat(filepath.Join(c.Home, "pwned"))
	require.ErrorIs(t, err, os.ErrNotExist, "a name ran as a command")

	// Gathered back, as rpdcp -r -p and pslurp do, into DEST/NODE/.
	back := t.TempDir()
	r = drove(t, nil, nil, "rcopy", "-F", c.SSHConfig, "-N", c.NodesFile, dest+"/h/hostile", back)
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, n := range []string{"node1", "node2"} {
		require.Equal(t, treeState(t, hostile), treeState(t, filepath.Join(back, n, "hostile")), n)
	}
}

// TestRealSSHCopyNodeDown: a node that is down is reported and the copy
// exits 1; the other nodes get the file; a missing source is exit 2 with
// nothing copied.
func TestRealSSHCopyNodeDown(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2})
	src := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(src, []byte("data"), 0o644))
	require.NoError(t, os.Chmod(filepath.Dir(src), 0o755))
	c.Nodes[1].Kill(t)
	dest := c.Nodes[0].Scratch + "/f"

	r := drove(t, nil, nil, "copy", "-F", c.SSHConfig, "-N", c.NodesFile, "--connect-timeout", "3", src, dest)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: copy: node2: ")
	require.Contains(t, r.stderr, "drove: copy: 1 of 2 nodes failed")
	got, err := os.ReadFile(dest)
	require.NoError(t, err)
	require.Equal(t, "data", string(got))

	r = drove(t, nil, nil, "copy", "-F", c.SSHConfig, "-n", "node1", src+".missing", dest+"2")
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	_, err = os.Stat(dest + "2")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestRealSSHCopyNodeDiesMidFile: a real sshd node killed while a file is
// on its way leaves no file under the real name (the temporary one at
// most), and drove copy reports the node and exits 1.
func TestRealSSHCopyNodeDiesMidFile(t *testing.T) {
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 1})
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	src := filepath.Join(dir, "big")
	fh, err := os.Create(src)
	require.NoError(t, err)
	// Random-ish content, 256 MiB: long enough on the wire to be caught.
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	for i := range 256 {
		chunk[0] = byte(i)
		_, err = fh.Write(chunk)
		require.NoError(t, err)
	}
	require.NoError(t, fh.Close())
	dest := c.Nodes[0].Scratch

	res := make(chan result, 1)
	go func() {
		res <- drove(t, nil, nil, "copy", "-F", c.SSHConfig, "-n", "node1", "--keepalive", "1", src, dest+"/")
	}()
	// Stop the node (SIGSTOP) as soon as its temporary file has data.
	deadline := time.Now().Add(30 * time.Second)
	caught := false
	for !caught && time.Now().Before(deadline) {
		select {
		case r := <-res:
			t.Skipf("the copy finished before the node could be stopped (exit %d)", r.code)
		default:
		}
		tmps, _ := filepath.Glob(filepath.Join(dest, ".drove-tmp-*"))
		for _, p := range tmps {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
				c.Nodes[0].Freeze(t)
				caught = true
			}
		}
		time.Sleep(time.Millisecond)
	}
	require.True(t, caught, "no temporary file appeared in 30 s")
	c.Nodes[0].Kill(t)
	r := <-res
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: copy: node1: ")
	t.Logf("stderr:\n%s", r.stderr)
	_, err = os.Stat(filepath.Join(dest, "big"))
	require.ErrorIs(t, err, os.ErrNotExist, "a half-written file under the real name")
}
