//go:build linux

package syncer

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/drove-dev/drove/partition"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// leakMarker is in every file and symlink target outside SRC, none inside.
const leakMarker = "FROM-OUTSIDE-SRC"

// leakTree makes dir/src/d0 and dir/outside/d0 with the same names: files
// f0..f(n-1) and the symlink sub/lnk, marked outside; and dir/src/d0.lnk,
// a symlink to dir/outside/d0 that a swapper exchanges with dir/src/d0.
// It returns the list of d0's entries in rsync's --from0 form.
func leakTree(t *testing.T, dir string, n int) []byte {
	t.Helper()
	var list bytes.Buffer
	for _, root := range []string{"src", "outside"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, root, "d0", "sub"), 0o755))
		for i := range n {
			body := fmt.Sprintf("inside %d\n", i)
			if root == "outside" {
				body = fmt.Sprintf("%s %d\n", leakMarker, i)
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, root, "d0", fmt.Sprintf("f%d", i)), []byte(body), 0o644))
		}
		target := "inside-target"
		if root == "outside" {
			target = "/etc/" + leakMarker
		}
		require.NoError(t, os.Symlink(target, filepath.Join(dir, root, "d0", "sub", "lnk")))
	}
	for i := range n {
		fmt.Fprintf(&list, "d0/f%d\x00", i)
	}
	list.WriteString("d0/sub\x00d0/sub/lnk\x00")
	require.NoError(t, os.Symlink(filepath.Join(dir, "outside", "d0"), filepath.Join(dir, "src", "d0.lnk")))
	return list.Bytes()
}

// leaked returns the entries of dst that came from outside SRC: a name
// that is only outside, a file holding the marker, or a symlink whose
// target does (contents says whether symlink targets count).
func leaked(t *testing.T, dst string, targets bool) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(leakMarker)) {
				out = append(out, p)
			}
		case d.Type()&fs.ModeSymlink != 0 && targets:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if strings.Contains(l, leakMarker) {
				out = append(out, p+" -> "+l)
			}
		}
		return nil
	})
	if !os.IsNotExist(err) {
		require.NoError(t, err)
	}
	return out
}

// TestCopyNeverLeavesSrc: while a loop keeps exchanging a directory of
// SRC with a symbolic link to a tree outside SRC that has the same names,
// partition copies and final passes run with the real rsync, as root (the
// chrooted module) and, when the test runs as root and setpriv is there,
// as nobody (rsync's own confinement). No file's contents from outside
// ever land in DST; as root no symbolic link's target either (as another
// user rsync 3.5.0 still lets one through now and then: see confine.go).
// Once the loop stops, a copy brings every file. No daemon configuration
// file is left behind. Before the copies read
// SRC through the daemon, 94 of 100 partition copies took files from
// outside.
func TestCopyNeverLeavesSrc(t *testing.T) {
	needTool(t, "rsync")
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
	for _, u := range users {
		t.Run(u.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
			require.NoError(t, os.Chmod(dir, 0o777))
			src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
			// The daemon's configuration file goes here, and must go away
			// also when rsync fails and signals it (SIGUSR1).
			tmp := filepath.Join(dir, "tmp")
			require.NoError(t, os.Mkdir(tmp, 0o777))
			require.NoError(t, os.Chmod(tmp, 0o777))
			t.Setenv("TMPDIR", tmp)
			list := leakTree(t, dir, 20)
			require.NoError(t, os.Mkdir(work, 0o777))
			require.NoError(t, os.Chmod(work, 0o777)) // whatever the umask
			o := Options{Src: src, Dst: dst, Work: work, Tool: partition.ModeRsync, FinalPass: true}
			p := &Part{Crawl: 1, Seq: 1, List: filepath.Join(work, "part"), Log: filepath.Join(work, "log", "part.log")}
			require.NoError(t, os.WriteFile(p.List, list, 0o644))
			part, err := o.partCommand(p)
			require.NoError(t, err)
			check := func(cmd string) {
				args := append(append([]string{}, u.wrap...), "sh", "-c", cmd)
				// It exits 2, 23 or 24 when a swap is caught mid-copy.
				out, _ := exec.Command(args[0], args[1:]...).CombinedOutput()
				got := leaked(t, dst, u.name == "self")
				require.Empty(t, got, "from outside SRC, after:\n%s", out)
				require.NoError(t, os.RemoveAll(dst))
			}

			var stop atomic.Bool
			var wg sync.WaitGroup
			var swaps atomic.Int64
			a, b := filepath.Join(src, "d0"), filepath.Join(src, "d0.lnk")
			wg.Go(func() {
				for !stop.Load() {
					if unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE) == nil {
						swaps.Add(1)
					}
				}
			})
			for i := range 60 {
				if i%4 == 3 {
					check(o.finalCommand())
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

			args := append(append([]string{}, u.wrap...), "sh", "-c", part)
			out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			for i := range 20 {
				b, err := os.ReadFile(filepath.Join(dst, "d0", fmt.Sprintf("f%d", i)))
				require.NoError(t, err)
				require.Equal(t, fmt.Sprintf("inside %d\n", i), string(b))
			}
			l, err := os.Readlink(filepath.Join(dst, "d0", "sub", "lnk"))
			require.NoError(t, err)
			require.Equal(t, "inside-target", l)
			left, err := os.ReadDir(tmp)
			require.NoError(t, err)
			require.Empty(t, left, "daemon configuration files left behind")
		})
	}
}
