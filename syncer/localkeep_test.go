//go:build unix

package syncer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// TestKeepsNothingAgreesWithKeepScript: on random trees, where DST holds
// some of SRC's entries (or directories above them) as another type,
// drove's own check says "nothing to keep" exactly when keep.sh, run on
// the same SRC and DST, keeps nothing and writes its list unchanged (or
// no exclude pattern), in every mode.
func TestKeepsNothingAgreesWithKeepScript(t *testing.T) {
	trials := 24
	if testkit.SlowTier() {
		trials = 400
	}
	k := oneLine(keepSh)
	agreed := map[string][2]int{}
	for seed := range trials {
		r := rand.New(rand.NewPCG(uint64(seed), 23))
		dir := t.TempDir()
		src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
		entries := randomKeepTree(t, r, dir, src, dst)
		// A list: every entry but directories (as the crawl lists them),
		// or some of every type, sometimes "./"-guarded.
		var list []string
		noDirs := seed%2 == 0
		for _, e := range entries {
			if fi, err := os.Lstat(filepath.Join(src, e)); err == nil && fi.IsDir() && noDirs || !noDirs && r.IntN(4) == 0 {
				continue
			}
			if r.IntN(5) == 0 {
				e = "./" + e
			}
			list = append(list, e)
		}
		// Entries gone from SRC since the listing, some of them in DST.
		for i := range r.IntN(3) {
			g := fmt.Sprintf("gone%d", i)
			if r.IntN(2) == 0 {
				g += "/f"
			}
			makeType(t, r, filepath.Join(dst, g), filepath.Join(dir, "outside"))
			list = append(list, g)
		}
		rsyncList, rcloneList := filepath.Join(dir, "rsync.list"), filepath.Join(dir, "rclone.list")
		var nul, lines strings.Builder
		for _, e := range list {
			nul.WriteString(e + "\x00")
			if !strings.Contains(e, "\n") {
				lines.WriteString(e + "\n")
			}
		}
		require.NoError(t, os.WriteFile(rsyncList, []byte(nul.String()), 0o644))
		require.NoError(t, os.WriteFile(rcloneList, []byte(lines.String()), 0o644))

		for _, c := range []struct{ mode, in, want string }{
			{"rsync-list", rsyncList, nul.String()},
			{"rclone-list", rcloneList, lines.String()},
			{"rsync-walk", "-", ""},
			{"rclone-walk", "-", ""},
		} {
			out := filepath.Join(dir, c.mode+".out")
			stdout, err := exec.Command("sh", "-c", k, "sh", k, c.mode, "N1", src, dst, c.in, out, "1").Output()
			p := newOutcomeParser("N1")
			_, _ = p.Write(stdout)
			got, _ := os.ReadFile(out)
			script := err == nil && len(p.outcome.Kept) == 0 && string(got) == c.want
			drove := keepsNothing(keep{mode: c.mode, in: c.in}, src, dst)
			require.Equal(t, script, drove, "seed %d, %s: keep.sh (err %v) kept %v, wrote %q of %q", seed, c.mode, err, p.outcome.Kept, got, c.want)
			a := agreed[c.mode]
			if script {
				a[0]++
			} else {
				a[1]++
			}
			agreed[c.mode] = a
		}
	}
	t.Log(agreed)
	// Both answers came up in every mode, or the trees test nothing.
	for mode, a := range agreed {
		require.Positive(t, a[0], "%s: never nothing to keep", mode)
		require.Positive(t, a[1], "%s: never something to keep", mode)
	}
}

// randomKeepTree makes a random SRC (directories, files, symbolic links)
// and a DST holding some of its entries, a few of them (or a directory
// above them) as another type, and returns SRC's entries, in no order.
func randomKeepTree(t *testing.T, r *rand.Rand, dir, src, dst string) []string {
	t.Helper()
	outside := filepath.Join(dir, "outside")
	require.NoError(t, os.MkdirAll(filepath.Join(outside, "q"), 0o755))
	names := []string{"a", "b", "c", "s*[x]", "new\nline", "dot\uff0ename"}
	var entries, dirs []string
	dirs = append(dirs, "")
	for range 4 + r.IntN(12) {
		parent := dirs[r.IntN(len(dirs))]
		name := names[r.IntN(len(names))] + fmt.Sprint(r.IntN(3))
		p := name
		if parent != "" {
			p = parent + "/" + name
		}
		if _, err := os.Lstat(filepath.Join(src, p)); err == nil {
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Join(src, parent), 0o755))
		switch r.IntN(4) {
		case 0, 1:
			require.NoError(t, os.Mkdir(filepath.Join(src, p), 0o755))
			dirs = append(dirs, p)
		case 2:
			require.NoError(t, os.WriteFile(filepath.Join(src, p), []byte(p), 0o644))
		case 3:
			require.NoError(t, os.Symlink("elsewhere", filepath.Join(src, p)))
		}
		entries = append(entries, p)
	}
	require.NoError(t, os.MkdirAll(dst, 0o755))
	for _, p := range entries {
		// DST holds the entry as SRC does, as another type, or not at all.
		switch r.IntN(10) {
		case 0:
			makeType(t, r, filepath.Join(dst, p), outside)
		case 1, 2, 3, 4:
			if _, err := os.Lstat(filepath.Join(dst, p)); err == nil || os.MkdirAll(filepath.Join(dst, filepath.Dir(p)), 0o755) != nil {
				continue // made already, or a directory above it is another type
			}
			fi, err := os.Lstat(filepath.Join(src, p))
			require.NoError(t, err)
			switch {
			case fi.IsDir():
				require.NoError(t, os.MkdirAll(filepath.Join(dst, p), 0o755))
			case fi.Mode().IsRegular():
				require.NoError(t, os.WriteFile(filepath.Join(dst, p), nil, 0o644))
			default:
				require.NoError(t, os.Symlink("elsewhere", filepath.Join(dst, p)))
			}
		}
	}
	return entries
}

// makeType makes p, unless it exists, as one of the types keep.sh tells
// apart: a file, a directory, a symbolic link to a directory outside, a
// dangling one, a FIFO.
func makeType(t *testing.T, r *rand.Rand, p, outside string) {
	t.Helper()
	if _, err := os.Lstat(p); err == nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		require.True(t, errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EEXIST), "%v", err)
		return // a directory above it is already another type
	}
	switch r.IntN(5) {
	case 0:
		require.NoError(t, os.WriteFile(p, nil, 0o644))
	case 1:
		require.NoError(t, os.Mkdir(p, 0o755))
	case 2:
		require.NoError(t, os.Symlink(outside, p))
	case 3:
		require.NoError(t, os.Symlink("nowhere", p))
	case 4:
		require.NoError(t, syscall.Mkfifo(p, 0o644))
	}
}

// TestLocalNodeRunsKeepScriptOnlyWhenItKeeps: on a local node, a copy
// whose keep check finds nothing to keep runs without keep.sh (its rsync
// reads the partition's own list, the final pass gets no exclude file);
// the partition whose DST holds a directory above its file as a file, and
// the final pass, whose walk of SRC meets it, run keep.sh, which keeps
// and reports it. Everything else is copied, as with keep.sh everywhere.
func TestLocalNodeRunsKeepScriptOnlyWhenItKeeps(t *testing.T) {
	needTool(t, "rsync")
	for _, conflict := range []bool{false, true} {
		t.Run(fmt.Sprint("conflict=", conflict), func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			for _, p := range []string{"a/1", "b/2", "c/3"} {
				require.NoError(t, os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(src, p), []byte(p), 0o644))
			}
			require.NoError(t, os.MkdirAll(dst, 0o755))
			if conflict {
				require.NoError(t, os.WriteFile(filepath.Join(dst, "b"), []byte("dst's b"), 0o644))
			}
			var mu sync.Mutex
			ran := map[string]bool{} // partition's file (or "final") -> ran keep.sh
			work := filepath.Join(dir, "work")
			before := func(cmd string) string {
				mu.Lock()
				defer mu.Unlock()
				withKeep := strings.Contains(cmd, "--files-from="+keepListVar) || strings.Contains(cmd, "--exclude-from="+keepListVar)
				if m := regexp.MustCompile(`part\.\d+`).FindString(cmd); m != "" {
					b, err := os.ReadFile(filepath.Join(work, "lists", "1", m))
					if err != nil {
						t.Errorf("list %s: %v", m, err)
					}
					ran[strings.Trim(string(b), "\x00")] = withKeep
				} else {
					ran["final"] = withKeep
				}
				return ""
			}
			res, err := Run(context.Background(), Options{
				Src: src, Dst: dst, Work: work, Tool: copytool.Rsync,
				MaxFiles: 1, FinalPass: true, Nodes: hookNodes(2, before, nil),
			})
			require.NoError(t, err)
			want := map[string]bool{"a/1": false, "b/2": false, "c/3": false, "final": false}
			if conflict {
				want["b/2"], want["final"] = true, true
				require.Equal(t, []Kept{{Path: "b", Dst: "file", Src: "directory"}}, res.Kept)
				b, err := os.ReadFile(filepath.Join(dst, "b"))
				require.NoError(t, err)
				require.Equal(t, "dst's b", string(b))
			} else {
				require.True(t, res.OK(), "failed %+v final %v", res.Failed, res.FinalErr)
				require.Empty(t, res.Kept)
				b, err := os.ReadFile(filepath.Join(dst, "b", "2"))
				require.NoError(t, err)
				require.Equal(t, "b/2", string(b))
			}
			require.Equal(t, want, ran)
			for _, p := range []string{"a/1", "c/3"} {
				b, err := os.ReadFile(filepath.Join(dst, p))
				require.NoError(t, err)
				require.Equal(t, p, string(b))
			}
		})
	}
}
