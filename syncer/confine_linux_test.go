//go:build slow && linux

package syncer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// leakMarker is in every file and symlink target outside SRC, none inside.
const leakMarker = "FROM-OUTSIDE-SRC"

// leakTree makes in and out/d0 with the same names: files f0..f(n-1)
// and the symlink sub/lnk, marked in out; and in/d0.lnk, a symlink to
// out/d0 that a swapper exchanges with in/d0. It returns d0's entries,
// relative to in.
func leakTree(t *testing.T, in, out string, n int) []string {
	t.Helper()
	var entries []string
	for _, root := range []string{in, out} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "d0", "sub"), 0o755))
		for i := range n {
			body := fmt.Sprintf("inside %d\n", i)
			if root == out {
				body = fmt.Sprintf("%s %d\n", leakMarker, i)
			}
			require.NoError(t, os.WriteFile(filepath.Join(root, "d0", fmt.Sprintf("f%d", i)), []byte(body), 0o644))
		}
		target := "inside-target"
		if root == out {
			target = "/etc/" + leakMarker
		}
		require.NoError(t, os.Symlink(target, filepath.Join(root, "d0", "sub", "lnk")))
	}
	for i := range n {
		entries = append(entries, fmt.Sprintf("d0/f%d", i))
	}
	entries = append(entries, "d0/sub", "d0/sub/lnk")
	require.NoError(t, os.Symlink(filepath.Join(out, "d0"), filepath.Join(in, "d0.lnk")))
	return entries
}

// leaked returns the entries of dst that came from outside SRC: a file
// holding the marker, or a symlink whose target does (targets says whether
// symlink targets count).
func leaked(t *testing.T, dst string, targets bool) []string {
	t.Helper()
	m := testkit.Outside{Content: leakMarker}
	if targets {
		m.Target = leakMarker
	}
	out, err := testkit.FromOutside(dst, m)
	require.NoError(t, err)
	return out
}

// TestCopyNeverLeavesSrc: while a loop keeps exchanging a directory of
// SRC with a symbolic link to a tree outside SRC that has the same names,
// partition copies and final passes run with the real rsync and rclone,
// as root and, when the test runs as root and setpriv is there, as nobody
// (rsync: the daemon's own confinement, not chroot; rclone: a user
// namespace). As root the directory is also put on a file system mounted
// below SRC (the confinement must reach submounts). No file's contents
// from outside ever land in DST; with rsync as root no symbolic link's
// target either (as another user rsync 3.5.0 still lets one through now
// and then: see confine.go). Once the loop stops, a copy brings every
// file. No daemon configuration file is left behind, and rclone never
// says it ran unconfined. With rsync's plain SRC/ source and a plain
// rclone, the copies took files from outside at once.
func TestCopyNeverLeavesSrc(t *testing.T) {
	type user struct {
		name string
		wrap []string
	}
	users := []user{{name: "self"}}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("setpriv"); err == nil {
			users = append(users, user{"nobody", []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}})
		}
	}
	for _, tool := range []copytool.Tool{copytool.Rsync, copytool.Rclone} {
		for _, u := range users {
			for _, sub := range []bool{false, true} {
				if sub && os.Geteuid() != 0 {
					continue
				}
				t.Run(fmt.Sprintf("%s %s submount=%v", tool, u.name, sub), func(t *testing.T) {
					needTool(t, tool.String())
					if tool == copytool.Rclone && !canConfine(t, u.wrap) {
						t.Skip("this machine does not let " + u.name + " make a mount namespace (unshare): rclone runs unconfined here")
					}
					leakLoop(t, tool, u.wrap, sub, u.name == "self" && tool == copytool.Rsync)
				})
			}
		}
	}
}

func leakLoop(t *testing.T, tool copytool.Tool, wrap []string, submount, targets bool) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chmod(dir, 0o777))
	src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
	// The daemon's configuration file goes here, and must go away also
	// when rsync fails and signals it (SIGUSR1).
	tmp := filepath.Join(dir, "tmp")
	for _, d := range []string{src, tmp, work} {
		require.NoError(t, os.Mkdir(d, 0o777))
		require.NoError(t, os.Chmod(d, 0o777)) // whatever the umask
	}
	t.Setenv("TMPDIR", tmp)
	in, prefix := src, ""
	if submount {
		// mountinfo escapes the space and the backslash.
		in, prefix = filepath.Join(src, `sub mnt\x`), `sub mnt\x/`
		require.NoError(t, os.Mkdir(in, 0o755))
		if err := unix.Mount("drove-test", in, "tmpfs", 0, "mode=0755"); err != nil {
			t.Skipf("cannot mount a tmpfs here: %v", err)
		}
		t.Cleanup(func() { _ = unix.Unmount(in, unix.MNT_DETACH) })
	}
	entries := leakTree(t, in, filepath.Join(dir, "outside"), 20)
	var list []byte
	for _, e := range entries {
		if tool == copytool.Rsync {
			list = append(list, prefix+e+"\x00"...)
		} else if strings.HasPrefix(e, "d0/f") { // rclone: files only
			list = append(list, prefix+e+"\n"...)
		}
	}
	o := Options{Src: src, Dst: dst, Work: work, Tool: tool, FinalPass: true}
	p := &Part{Crawl: 1, Seq: 1, List: filepath.Join(work, "part"), Log: filepath.Join(work, "log", "part.log")}
	require.NoError(t, os.WriteFile(p.List, list, 0o644))
	part, err := o.partCommand(p)
	require.NoError(t, err)
	run := func(cmd string) (stdout string, err error) {
		args := append(append([]string{}, wrap...), "sh", "-c", cmd)
		c := exec.Command(args[0], args[1:]...)
		var out bytes.Buffer
		c.Stdout = &out
		err = c.Run()
		return out.String(), err
	}
	check := func(cmd string) {
		out, _ := run(cmd) // it may fail when a swap is caught mid-copy
		require.NotContains(t, out, unconfinedWord)
		log, _ := os.ReadFile(p.Log)
		require.Empty(t, leaked(t, dst, targets), "from outside SRC; log:\n%s", log)
		require.NoError(t, os.RemoveAll(dst))
		require.NoError(t, os.RemoveAll(p.Log))
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var swaps atomic.Int64
	a, b := filepath.Join(in, "d0"), filepath.Join(in, "d0.lnk")
	wg.Go(func() {
		for !stop.Load() {
			if unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE) == nil {
				swaps.Add(1)
			}
		}
	})
	rounds := 40
	if tool == copytool.Rclone {
		rounds = 16 // rclone takes longer to start
	}
	for i := range rounds {
		if i%4 == 3 {
			check(o.finalCommand(""))
		} else {
			check(part)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d swaps", swaps.Load())
	if swaps.Load()%2 == 1 { // d0 back in place
		require.NoError(t, unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE))
	}

	out, err := run(part)
	log, _ := os.ReadFile(p.Log)
	require.NoError(t, err, "%s%s", out, log)
	for i := range 20 {
		b, err := os.ReadFile(filepath.Join(dst, prefix+"d0", fmt.Sprintf("f%d", i)))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("inside %d\n", i), string(b))
	}
	if tool == copytool.Rsync {
		l, err := os.Readlink(filepath.Join(dst, prefix+"d0", "sub", "lnk"))
		require.NoError(t, err)
		require.Equal(t, "inside-target", l)
	}
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, left, "daemon configuration files left behind")
}

// TestRcloneUnconfinedIsReported: where rclone cannot be confined (here
// unshare fails, as where namespaces are not allowed), the copy still
// runs, and the result names the node.
func TestRcloneUnconfinedIsReported(t *testing.T) {
	needTool(t, "rclone")
	dir := t.TempDir()
	t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
	testkit.FailingUnshare(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "a"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "a", "f"), []byte("x"), 0o644))
	res, err := Run(context.Background(), Options{
		Src: src, Dst: dst, Work: filepath.Join(dir, "work"), Tool: copytool.Rclone,
		MaxFiles: 1, FinalPass: true, Nodes: localNodes(1),
	})
	require.NoError(t, err)
	require.True(t, res.OK(), "failed %+v final %v", res.Failed, res.FinalErr)
	require.Equal(t, []string{"local"}, res.Unconfined)
	b, err := os.ReadFile(filepath.Join(dst, "a", "f"))
	require.NoError(t, err)
	require.Equal(t, "x", string(b))
}
