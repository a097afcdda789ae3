//go:build unix

package syncer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/partition"
	"github.com/stretchr/testify/require"
)

// TestExcludesMeanTheSameToCrawlAndRsync (issue 19.11): a -x pattern
// leaves out the same files from the crawl (drove's, path.Match) as from
// the final pass (rsync --exclude, as copytool.RsyncPattern writes it),
// with rsync itself as the oracle: its dry run of the whole tree. The
// patterns whose meaning differs ("**", "[!...]") are refused by drove
// sync (sync_cmd.go); they are here to show that they do differ.
func TestExcludesMeanTheSameToCrawlAndRsync(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("rsync is not installed")
	}
	src := filepath.Join(t.TempDir(), "src")
	for _, p := range []string{"a.tmp", "keep", "d/x.tmp", "d/e/x.tmp", "d/e/f/x.tmp", "build/o", "sub/build/o",
		"b1/z", "b2/z", "bx/z", "we[ird]/f", "star*/f", ".hidden/f", "d/e/g"} {
		require.NoError(t, os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, p), nil, 0o644))
	}
	crawl := func(x string) []string {
		out := t.TempDir()
		_, err := partition.Run(context.Background(), partition.Options{Src: src, OutDir: out, MaxFiles: 1000,
			Excludes: []string{x}, Format: partition.ListNUL}, func(partition.Partition) error { return nil }, nil)
		require.NoError(t, err)
		var files []string
		lists, err := filepath.Glob(filepath.Join(out, "part.*"))
		require.NoError(t, err)
		for _, l := range lists {
			b, err := os.ReadFile(l)
			require.NoError(t, err)
			for _, e := range strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00") {
				if e != "" {
					files = append(files, e)
				}
			}
		}
		slices.Sort(files)
		return files
	}
	rsync := func(x string) []string {
		out, err := exec.Command("rsync", "-a", "-n", "--out-format=%n", "--exclude="+copytool.RsyncPattern(x),
			src+"/", filepath.Join(t.TempDir(), "dst")+"/").CombinedOutput()
		require.NoError(t, err, "%s", out)
		var files []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if fi, err := os.Lstat(filepath.Join(src, l)); err == nil && fi.Mode().IsRegular() {
				files = append(files, l)
			}
		}
		slices.Sort(files)
		return files
	}
	for _, x := range []string{"*.tmp", "x.tmp", "build", "build/", "/build", "sub/build", "d/*/x.tmp", "d/e",
		"b?", "b[12]", "b[^1]", "we\\[ird]", "star\\*", ".*", "d/e/*", "*"} {
		c, r := crawl(x), rsync(x)
		require.Equal(t, r, c, "-x %q: crawl and rsync differ", x)
		if x != "*" {
			require.NotEmpty(t, c)
		}
	}
	for _, x := range []string{"d/**/x.tmp", "b[!1]"} {
		require.NotEqual(t, rsync(x), crawl(x), "-x %q", x)
	}
}
