package syncer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/partition"
	"github.com/stretchr/testify/require"
)

// TestCheckRcloneCopy: after an rclone copy of a list that exited 0, a
// listed regular file that is here unchanged since the listing must be in
// DST with its size; one gone or changed since is vanished; a symbolic
// link is not expected (rclone copies links only when asked). Names in
// rclone's encoding are mapped back to SRC's.
func TestCheckRcloneCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	names := []string{"plain", "d/tab\there", "d/new\nline", "é☃", "d/\xff\xfe"}
	var list []string
	for _, n := range names {
		require.NoError(t, os.MkdirAll(filepath.Join(src, filepath.Dir(n)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, n), []byte(n), 0o644))
		list = append(list, partition.RclonePath(n))
	}
	require.NoError(t, os.Symlink("plain", filepath.Join(src, "link")))
	list = append(list, "link", "gone")
	var bytes int64
	for _, n := range names {
		bytes += int64(len(n))
	}
	bytes += int64(len("plain")) // the link's size, as the crawl counts it
	listFile := filepath.Join(dir, "list")
	require.NoError(t, os.WriteFile(listFile, []byte(strings.Join(list, "\n")+"\n"), 0o644))
	since := time.Now().Add(time.Hour) // nothing has changed since

	var kept map[string]bool
	check := func(dst map[string]int64) (int, error) {
		var es []dstEntry
		for p, s := range dst {
			es = append(es, dstEntry{Path: p, Size: s})
		}
		b, err := json.Marshal(es)
		require.NoError(t, err)
		listing := filepath.Join(dir, "dst.json")
		require.NoError(t, os.WriteFile(listing, b, 0o644))
		return checkRcloneCopy(listFile, listing, src, since, bytes, false, kept)
	}
	whole := map[string]int64{}
	for _, n := range names {
		whole[partition.RclonePath(n)] = int64(len(n))
	}
	n, err := check(whole)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the listed path gone from SRC vanished")

	for _, drop := range names {
		t.Run(strings.ReplaceAll(drop, "\n", `\n`), func(t *testing.T) {
			short := map[string]int64{}
			for k, v := range whole {
				short[k] = v
			}
			delete(short, partition.RclonePath(drop))
			_, err := check(short)
			require.ErrorContains(t, err, "rclone did not copy")
			require.ErrorContains(t, err, fmt.Sprintf("%q", filepath.Join(src, drop)))

			// Left out on purpose: DST holds it, or a directory above
			// it, as another type (keep.sh), and the attempt said so.
			kept = map[string]bool{drop: true}
			_, err = check(short)
			require.NoError(t, err)
			kept = map[string]bool{filepath.Dir(drop): filepath.Dir(drop) != "."}
			if filepath.Dir(drop) != "." {
				_, err = check(short)
				require.NoError(t, err)
			}
			kept = nil

			short[partition.RclonePath(drop)] = int64(len(drop)) + 1
			_, err = check(short)
			require.ErrorContains(t, err, "bytes")
		})
	}

	// A file changed since it was listed is the node's to copy as it saw it.
	time.Sleep(2 * ctimeSlack) // the others are older than since, by their age only
	since = time.Now()
	delete(whole, "plain")
	require.NoError(t, os.WriteFile(filepath.Join(src, "plain"), []byte("changed"), 0o644))
	n, err = check(whole)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
