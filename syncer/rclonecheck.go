package syncer

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/drove-dev/drove/partition"
)

// dstListing is the file, next to a partition's log, where its rclone copy
// job writes DST's listing of the partition's entries (copy.sh's CHECK).
func dstListing(log string) string {
	return strings.TrimSuffix(log, ".log") + ".dst.json"
}

// dstEntry is one file of rclone lsjson's output.
type dstEntry struct {
	Path string
	Size int64
}

// checkRcloneCopy judges an rclone copy of a partition that exited 0:
// rclone ignores the listed files it cannot find, so a node with a stale
// view of SRC (an NFS client's cache, a lagging replica) drops them
// silently. list is the partition's list (rclone's encoding, one path a
// line), listing DST's files among them as the node saw them after the
// copy (rclone lsjson), bytes the partition's listed size. When every
// listed path is in DST and the sizes add up to bytes, the copy is whole.
// Otherwise each listed path is judged on this machine, now: one that is
// gone from SRC, or changed (its own ctime) at or after since, vanished;
// one that is not a regular file (rclone copies symbolic links only when
// asked, as the listing of DST then shows them; follow says it follows
// them, so a link to a regular file counts as one) is not expected; a
// regular file here, unchanged since it was listed, must be in DST with
// its size, else the result is an error naming it. vanished is how many
// listed paths vanished. A path that is in kept (paths relative to SRC),
// or below one, is not judged: the copy left it out on purpose (keep.sh:
// DST holds it, or a directory above it, as another type).
func checkRcloneCopy(list, listing, src string, since time.Time, bytes int64, follow bool, kept map[string]bool) (vanished int, err error) {
	data, err := os.ReadFile(list)
	if err != nil {
		return 0, fmt.Errorf("sync: reading the partition's list: %w", err)
	}
	raw, err := os.ReadFile(listing)
	if err != nil {
		return 0, fmt.Errorf("sync: reading DST's listing after rclone's copy: %w", err)
	}
	var got []dstEntry
	if err := json.Unmarshal(raw, &got); err != nil {
		return 0, fmt.Errorf("sync: reading DST's listing after rclone's copy: %s: %w", listing, err)
	}
	inDst := make(map[string]int64, len(got))
	for _, e := range got {
		inDst[e.Path] = e.Size
	}
	var listed []string
	var total int64
	whole := true
	for _, e := range strings.Split(string(data), "\n") {
		if e == "" {
			continue
		}
		listed = append(listed, e)
		size, ok := inDst[asJSON(e)]
		whole = whole && ok && size >= 0
		total += size
	}
	if whole && total == bytes {
		return 0, nil
	}
	for _, e := range listed {
		rel, found := srcRel(src, e)
		if found && keptAbove(kept, rel) {
			continue
		}
		if !found || goneSince(src, filepath.Join(src, rel), since) {
			vanished++
			continue
		}
		p := filepath.Join(src, rel)
		fi, err := os.Lstat(p)
		if err == nil && follow && fi.Mode()&fs.ModeSymlink != 0 {
			fi, err = os.Stat(p)
		}
		if err != nil || !fi.Mode().IsRegular() {
			continue // gone since goneSince looked, or not rclone's to copy
		}
		size, ok := inDst[asJSON(e)]
		switch {
		case !ok:
			return vanished, fmt.Errorf("rclone did not copy %q, which is there on this machine, unchanged since it was listed (the node's view of SRC may be stale)", p)
		case size >= 0 && size != fi.Size():
			return vanished, fmt.Errorf("rclone copied %q with %d bytes, and it has %d on this machine, unchanged since it was listed (the node's view of SRC may be stale)", p, size, fi.Size())
		}
	}
	return vanished, nil
}

// asJSON is s as rclone lsjson writes it (JSON read back): each byte
// that is not part of valid UTF-8 becomes U+FFFD.
func asJSON(s string) string { return string([]rune(s)) }

// srcRel maps a path in rclone's encoding (partition.RclonePath) back to
// the path relative to src that it names: a component holding no byte the
// encoding may change (ASCII but control characters and DEL) is the name
// itself; another is found by reading its
// directory for the name that encodes to it. found is false when a
// component is not there.
func srcRel(src, enc string) (rel string, found bool) {
	var out []string
	for _, c := range strings.Split(enc, "/") {
		if !strings.ContainsFunc(c, func(r rune) bool { return r < 0x20 || r >= 0x7F }) {
			out = append(out, c)
			continue
		}
		ents, err := os.ReadDir(filepath.Join(src, filepath.Join(out...)))
		if err != nil {
			return "", false
		}
		name := ""
		for _, d := range ents {
			if partition.RclonePath(d.Name()) == c {
				name = d.Name()
				break
			}
		}
		if name == "" {
			return "", false
		}
		out = append(out, name)
	}
	return filepath.Join(out...), true
}

// keptAbove reports whether rel or a directory above it is in kept.
func keptAbove(kept map[string]bool, rel string) bool {
	for p := filepath.ToSlash(rel); len(kept) > 0 && p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if kept[p] {
			return true
		}
	}
	return false
}
