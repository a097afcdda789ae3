package filecopy

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// hostileNames are names a copy must carry as data.
var hostileNames = []string{
	"plain", "with space", " lead and trail ", "new\nline", "-rf", "--help", "..dots", "dots..",
	`quo"te`, "it's", "$(touch pwned)", "back`tick`", "semi;colon", "star*", "\xff\xfe-not-utf8", "tab\tname",
}

// makeTree builds a tree at dir with every hostile name as a file, nested
// directories with their own modes, an empty directory, symbolic links (one
// dangling, one absolute) and old mtimes.
func makeTree(t *testing.T, dir string) {
	t.Helper()
	old := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "empty"), 0o755))
	for i, n := range hostileNames {
		p := filepath.Join(dir, n)
		require.NoError(t, os.WriteFile(p, []byte(strings.Repeat(n, i+1)), 0o644))
		require.NoError(t, os.Chmod(p, fs.FileMode(0o600+i%3*0o44)))
		require.NoError(t, os.Chtimes(p, old, old.Add(time.Duration(i)*time.Hour)))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "deeper", n), []byte(n), 0o640))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "exec"), []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(dir, "sub", "exec"), 0o4755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big"), bytes.Repeat([]byte("0123456789abcdef"), 1<<16), 0o644))
	require.NoError(t, os.Symlink("../plain", filepath.Join(dir, "sub", "rel-link")))
	require.NoError(t, os.Symlink("/nonexistent/dangling", filepath.Join(dir, "abs-link")))
	require.NoError(t, os.Chmod(filepath.Join(dir, "sub", "deeper"), 0o750))
	for _, d := range []string{"sub/deeper", "sub", "empty"} {
		require.NoError(t, os.Chtimes(filepath.Join(dir, d), old, old))
	}
}

// entry is what a copy must keep of a file.
type entry struct {
	Mode   fs.FileMode
	MTime  time.Time // regular files and directories
	Data   string    // regular files
	Target string    // links
}

// snapshot lists every entry under dir by relative path.
func snapshot(t *testing.T, dir string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entry{Mode: fi.Mode()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Target, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			e.Data, e.MTime = string(b), fi.ModTime()
		case fi.IsDir():
			if rel != "." {
				e.MTime = fi.ModTime()
			} else {
				e.Mode = 0 // the top directory's mode is the destination's
			}
		}
		out[rel] = e
		return err
	})
	require.NoError(t, err)
	return out
}

// requireSameTree fails unless got holds what want holds, entry by entry.
func requireSameTree(t *testing.T, want, got map[string]entry) {
	t.Helper()
	var missing, extra []string
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	require.Empty(t, missing, "missing entries")
	require.Empty(t, extra, "extra entries")
	for k, w := range want {
		g := got[k]
		require.Equal(t, w.Mode, g.Mode, "mode of %q", k)
		// SFTP (version 3) carries whole seconds, as scp -p and pdcp -p.
		require.True(t, w.MTime.Truncate(time.Second).Equal(g.MTime.Truncate(time.Second)), "mtime of %q: want %v, got %v", k, w.MTime, g.MTime)
		require.Equal(t, w.Data, g.Data, "content of %q", k)
		require.Equal(t, w.Target, g.Target, "link target of %q", k)
	}
}

// sshNode is a filecopy Node dialling s with x/crypto/ssh. Its keepalives
// give an in-process server 30 s to answer: on a loaded machine one
// starved for 3 s is alive, and a shorter bound closed a healthy node's
// connection mid-copy.
func sshNode(name string, s *sshtest.Server, key ssh.Signer) Node {
	return Node{Name: name, KeepaliveInterval: 10 * time.Second, KeepaliveCountMax: 3, Dial: func(ctx context.Context) (*ssh.Client, error) {
		return ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{
			User:            "tester",
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(key)},
			HostKeyCallback: ssh.FixedHostKey(s.Signer.PublicKey()),
			Timeout:         30 * time.Second,
		})
	}}
}
