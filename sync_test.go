//go:build unix

package main

// drove sync end to end with ':' nodes and the real rsync (and rclone):
// hostile trees copied exactly, resume after an interrupt and after drove
// is killed, failed partitions listed and finished by a second run, exit
// 24, --delete, --verify. The real-sshd tier is in sync_realsshd_test.go.

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/syncer"
	"github.com/stretchr/testify/require"
)

// treeOpts shape a generated tree.
type treeOpts struct {
	dirs, filesPerDir int
	maxSize           int  // bytes; sizes are random up to it
	symlinks          bool // rclone does not copy symlinks
	hostile           bool // names with newlines, quotes, $(...), leading dashes...
	seed              uint64
}

// hostileNames are names a careless shell command would break on.
var hostileNames = []string{
	"space name", "new\nline", `quote'single`, `quote"double`, "$(touch pwned)", "`touch pwned2`",
	"-leading-dash", "--rf", "#hash", ";semi", "tab\there", "back\\slash", "é ü ☃", "*star?", "a;b&c|d>e<f",
}

// makeTree writes a deterministic tree under root (which must not exist):
// random contents, modes and past mtimes; hostile names; empty
// directories; symlinks (relative, absolute, dangling).
func makeTree(t *testing.T, root string, o treeOpts) {
	t.Helper()
	r := rand.New(rand.NewPCG(o.seed, 42))
	modes := []fs.FileMode{0o644, 0o600, 0o755, 0o640, 0o444}
	base := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	var dirs []string
	for d := range o.dirs {
		rel := fmt.Sprintf("d%02d", d)
		if o.hostile && d < len(hostileNames) {
			rel = hostileNames[d]
		}
		if d%3 == 2 {
			rel = filepath.Join(dirs[len(dirs)-1], rel) // nesting
		}
		dirs = append(dirs, rel)
		require.NoError(t, os.MkdirAll(filepath.Join(root, rel), 0o755))
		for f := range o.filesPerDir {
			name := fmt.Sprintf("f%03d", f)
			if o.hostile {
				name = hostileNames[(d+f)%len(hostileNames)] + fmt.Sprint(f)
			}
			p := filepath.Join(root, rel, name)
			data := make([]byte, r.IntN(o.maxSize+1))
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			require.NoError(t, os.WriteFile(p, data, 0o600))
			require.NoError(t, os.Chmod(p, modes[r.IntN(len(modes))]))
			mt := base.Add(time.Duration(r.IntN(1e6))*time.Second + time.Duration(r.IntN(1e9)))
			require.NoError(t, os.Chtimes(p, mt, mt))
		}
	}
	for i := range 3 {
		require.NoError(t, os.MkdirAll(filepath.Join(root, dirs[i%len(dirs)], fmt.Sprintf("empty %d", i)), 0o750))
	}
	if o.symlinks {
		require.NoError(t, os.Symlink("../"+dirs[0], filepath.Join(root, dirs[1], "rel link")))
		require.NoError(t, os.Symlink("/etc/hostname", filepath.Join(root, "abs link")))
		require.NoError(t, os.Symlink("does not exist", filepath.Join(root, dirs[0], "-dangling")))
	}
	// Directory mtimes last, deepest first, as rsync -a keeps them.
	for i := len(dirs) - 1; i >= 0; i-- {
		mt := base.Add(time.Duration(i) * time.Hour)
		for _, sub := range []string{fmt.Sprintf("empty %d", i), ""} {
			p := filepath.Join(root, dirs[i], sub)
			if _, err := os.Lstat(p); err == nil {
				require.NoError(t, os.Chtimes(p, mt, mt))
			}
		}
	}
}

// treeEntry is what rsync -a preserves of one entry (owner aside).
type treeEntry struct {
	mode  fs.FileMode
	mtime int64 // nanoseconds; 0 for symlinks
	data  string
}

// readTree returns every entry below root with its preserved metadata.
// modes=false leaves permission bits out (rclone does not keep them) and
// dirMtimes=false directory mtimes.
func readTree(t *testing.T, root string, modes, dirMtimes bool) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		e := treeEntry{mode: fi.Mode()}
		if !modes {
			e.mode = fi.Mode().Type()
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.data, err = os.Readlink(p)
			require.NoError(t, err)
			e.mode = fs.ModeSymlink
		case fi.IsDir():
			if dirMtimes {
				e.mtime = fi.ModTime().UnixNano()
			}
		default:
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			e.data = string(b)
			e.mtime = fi.ModTime().UnixNano()
		}
		out[rel] = e
		return nil
	}))
	return out
}

// requireSameTree fails the test unless dst holds exactly src's entries
// with the same contents, symlink targets, mtimes (and modes).
func requireSameTree(t *testing.T, src, dst string, modes, dirMtimes bool) {
	t.Helper()
	a, b := readTree(t, src, modes, dirMtimes), readTree(t, dst, modes, dirMtimes)
	require.NotEmpty(t, a)
	for rel, ea := range a {
		eb, ok := b[rel]
		require.True(t, ok, "%q missing in DST", rel)
		require.Equal(t, ea.mode, eb.mode, "mode of %q", rel)
		require.Equal(t, ea.mtime, eb.mtime, "mtime of %q", rel)
		require.True(t, ea.data == eb.data, "content of %q differs", rel)
	}
	for rel := range b {
		_, ok := a[rel]
		require.True(t, ok, "%q is in DST but not in SRC", rel)
	}
}

// shim puts a fake rsync first in PATH for ':' nodes. It runs the real
// rsync, except that for partition N (its list part.00000N):
//
//	ctl/block exists and N > ctl/pass: wait until ctl/block is removed
//	ctl/fail.N exists: exit 11 without copying (a real error: rsync's 23
//	is judged from its log, see syncer)
//	ctl/vanish.N exists: copy, then exit 24
//
// and it records ctl/started.N (with its pid) and ctl/finished.N.
func shim(t *testing.T, pass int) string {
	t.Helper()
	real, err := exec.LookPath("rsync")
	if err != nil {
		t.Skip("rsync is not installed")
	}
	bin, ctl := t.TempDir(), t.TempDir()
	script := fmt.Sprintf(`#!/bin/sh
ctl=%s
n=0
for a in "$@"; do
  case "$a" in --files-from=*) n=$(basename -- "$a" | sed 's/^part\.0*//') ;; esac
done
[ "$n" -gt 0 ] && echo $$ > "$ctl/.started.$n" && mv "$ctl/.started.$n" "$ctl/started.$n"
if [ "$n" -gt %d ]; then
  while [ -e "$ctl/block" ]; do sleep 0.02; done
fi
[ -e "$ctl/fail.$n" ] && exit 11
%s "$@" || exit $?
[ "$n" -gt 0 ] && : > "$ctl/finished.$n"
[ -e "$ctl/vanish.$n" ] && exit 24
exit 0
`, ctl, pass, real)
	require.NoError(t, os.WriteFile(filepath.Join(bin, "rsync"), []byte(script), 0o755))
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return ctl
}

// journalCount counts the journal records of type typ.
func journalCount(t *testing.T, work, typ string) int {
	b, err := os.ReadFile(filepath.Join(work, "journal"))
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte(`{"t":"`+typ+`"`))
}

// doneSeqs returns the sequence numbers of crawl 1's done partitions.
func doneSeqs(t *testing.T, work string) map[int]int {
	b, err := os.ReadFile(filepath.Join(work, "journal"))
	require.NoError(t, err)
	out := map[int]int{}
	for _, m := range regexp.MustCompile(`"t":"done","crawl":1,"seq":(\d+)`).FindAllSubmatch(b, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		out[n]++
	}
	return out
}

func TestSyncHostileTreeLocalNodes(t *testing.T) {
	dir := t.TempDir()
	src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	makeTree(t, src, treeOpts{dirs: 12, filesPerDir: 15, maxSize: 4096, symlinks: true, hostile: true, seed: 1})
	t.Chdir(dir)
	r := drove(t, nil, nil, "sync", "-n", "4/:", "-f", "17", "-z", "-d", work, "--status", "--verify=checksum", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireSameTree(t, src, dst, true, true)
	// -s: plain status lines (stderr is not a terminal).
	require.Regexp(t, `(?m)^\d+ of \d+\+? files, .* of .* copied, .*/s(, ETA .*)?, \d of 1 nodes busy`, r.stderr)
	require.NoFileExists(t, filepath.Join(dir, "pwned"))
	require.NoFileExists(t, filepath.Join(dir, "pwned2"))
	require.Regexp(t, `drove: sync: 18\d of 18\d files \(.*\) done in (\d+) of (\d+) partitions \(0 failed, 0 not run\), .*; final pass done`, r.stderr)
	require.Contains(t, r.stderr, "0 differences")
	require.Greater(t, journalCount(t, work, "part"), 8, "several partitions")

	// The same command again, after the sync finished, is a new run
	// (fpsync's run IDs): the tree is crawled and synced again, and a
	// file changed since is copied.
	parts := journalCount(t, work, "part")
	changed := filepath.Join(src, hostileNames[0], hostileNames[0]+"0")
	require.NoError(t, os.WriteFile(changed, []byte("changed after run 1"), 0o644))
	r = drove(t, nil, nil, "sync", "-n", "4/:", "-f", "17", "-z", "-d", work, src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: sync: this was run 2 of "+work+": run 1 had finished, so the tree was synced again\n")
	require.NotContains(t, r.stderr, "resumed from")
	require.Equal(t, 1, journalCount(t, work, "restart"))
	require.Equal(t, 2*parts, journalCount(t, work, "part"), "the whole tree listed again")
	require.DirExists(t, filepath.Join(work, "lists", "2"))
	requireSameTree(t, src, dst, true, true)
}

func TestSyncResumeAfterInterrupt(t *testing.T) {
	dir := t.TempDir()
	src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	makeTree(t, src, treeOpts{dirs: 8, filesPerDir: 10, maxSize: 2048, symlinks: true, hostile: true, seed: 2})
	ctl := shim(t, 3)
	require.NoError(t, os.WriteFile(filepath.Join(ctl, "block"), nil, 0o644))
	args := []string{"sync", "-n", "2/:", "-f", "10", "-d", work, src, dst}

	// Partitions 1-3 copy; 4 and 5 hang on the two slots; cancel (the
	// second Ctrl-C) kills them.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	drain := make(chan struct{})
	done := make(chan result, 1)
	go func() { done <- droveCtx(ctx, nil, drain, args...) }()
	testkit.WaitFor(t, 20*time.Second, "3 partitions done and 2 blocked", func() bool {
		_, e4 := os.Stat(filepath.Join(ctl, "started.4"))
		_, e5 := os.Stat(filepath.Join(ctl, "started.5"))
		return journalCount(t, work, "done") == 3 && e4 == nil && e5 == nil
	})
	close(drain)
	cancel()
	r := <-done
	require.Equal(t, exitInterrupted, r.code, r.stderr)
	require.Contains(t, r.stderr, "run the same command again to resume")
	require.Equal(t, map[int]int{1: 1, 2: 1, 3: 1}, doneSeqs(t, work))
	parts := journalCount(t, work, "part")
	require.Greater(t, parts, 5)
	logs := map[int]time.Time{}
	for n := 1; n <= 3; n++ {
		fi, err := os.Stat(filepath.Join(work, "log", "1", fmt.Sprintf("part.%06d.log", n)))
		require.NoError(t, err)
		logs[n] = fi.ModTime()
		require.NoError(t, os.Remove(filepath.Join(ctl, fmt.Sprintf("started.%d", n))))
	}

	// The same command finishes the job: partitions 1-3 are not run again
	// (no new start, logs untouched, one done record each).
	require.NoError(t, os.Remove(filepath.Join(ctl, "block")))
	r = drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "resumed from")
	for n := 1; n <= 3; n++ {
		require.NoFileExists(t, filepath.Join(ctl, fmt.Sprintf("started.%d", n)))
		fi, err := os.Stat(filepath.Join(work, "log", "1", fmt.Sprintf("part.%06d.log", n)))
		require.NoError(t, err)
		require.Equal(t, logs[n], fi.ModTime())
	}
	seqs := doneSeqs(t, work)
	require.Len(t, seqs, parts)
	for n, c := range seqs {
		require.Equal(t, 1, c, "partition %d done twice", n)
	}
	require.Equal(t, parts, journalCount(t, work, "part"), "the crawl had completed: nothing listed again")
	requireSameTree(t, src, dst, true, true)
}

// TestSyncHelperProcess is drove as a separate process, for the test that
// kills it. It does nothing in a normal test run.
func TestSyncHelperProcess(t *testing.T) {
	args := os.Getenv("DROVE_SYNC_HELPER_ARGS")
	if args == "" {
		t.Skip("helper process only")
	}
	os.Exit(run(strings.Split(args, "\x1f"), &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

func TestSyncResumeAfterDroveKilled(t *testing.T) {
	dir := t.TempDir()
	src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	makeTree(t, src, treeOpts{dirs: 6, filesPerDir: 10, maxSize: 2048, symlinks: true, seed: 3})
	ctl := shim(t, 2)
	require.NoError(t, os.WriteFile(filepath.Join(ctl, "block"), nil, 0o644))
	args := []string{"sync", "-n", "2/:", "-f", "8", "-d", work, src, dst}

	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^TestSyncHelperProcess$")
	cmd.Env = append(os.Environ(), "DROVE_SYNC_HELPER_ARGS="+strings.Join(args, "\x1f"))
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	testkit.WaitFor(t, 20*time.Second, "2 partitions done and 2 blocked", func() bool {
		_, e3 := os.Stat(filepath.Join(ctl, "started.3"))
		_, e4 := os.Stat(filepath.Join(ctl, "started.4"))
		return journalCount(t, work, "done") == 2 && e3 == nil && e4 == nil
	})
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Equal(t, map[int]int{1: 1, 2: 1}, doneSeqs(t, work), out.String())

	// The orphaned copies of partitions 3 and 4 go on (a crash kills no
	// job); let them finish before the second run.
	pids := []int{}
	for _, n := range []int{3, 4} {
		b, err := os.ReadFile(filepath.Join(ctl, fmt.Sprintf("started.%d", n)))
		require.NoError(t, err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	for _, n := range []int{1, 2} {
		require.NoError(t, os.Remove(filepath.Join(ctl, fmt.Sprintf("started.%d", n))))
	}
	require.NoError(t, os.Remove(filepath.Join(ctl, "block")))
	testkit.WaitFor(t, 20*time.Second, "orphaned copies to end", func() bool {
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				return false
			}
		}
		return true
	})

	r := drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoFileExists(t, filepath.Join(ctl, "started.1"), "partition 1 ran again")
	require.NoFileExists(t, filepath.Join(ctl, "started.2"), "partition 2 ran again")
	for n, c := range doneSeqs(t, work) {
		require.Equal(t, 1, c, "partition %d done twice", n)
	}
	requireSameTree(t, src, dst, true, true)
}

func TestSyncFailedPartitionsListedThenFinished(t *testing.T) {
	dir := t.TempDir()
	src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	makeTree(t, src, treeOpts{dirs: 4, filesPerDir: 10, maxSize: 1024, seed: 4})
	ctl := shim(t, 1000)
	require.NoError(t, os.WriteFile(filepath.Join(ctl, "fail.2"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ctl, "vanish.3"), nil, 0o644))
	args := []string{"sync", "-n", "2/:", "-f", "10", "-d", work, "--on-failure", "retry", src, dst}

	r := drove(t, nil, nil, args...)
	require.Equal(t, exitFailed, r.code, r.stderr)
	list := filepath.Join(work, "lists", "1", "part.000002")
	log := filepath.Join(work, "log", "1", "part.000002.log")
	require.Contains(t, r.stderr, fmt.Sprintf("drove: sync: failed: partition 1/part.000002, list %s, node local, exited with status 11, log %s\n", list, log))
	require.Contains(t, r.stderr, "vanished after they were listed", "rsync's 24 is a note, not a failure")
	require.NotContains(t, r.stderr, "final pass done", "no final pass while a partition is missing")
	require.Contains(t, r.stderr, "run the same command again to finish")
	_, ok := doneSeqs(t, work)[3]
	require.True(t, ok, "exit 24 counts as copied")

	require.NoError(t, os.Remove(filepath.Join(ctl, "fail.2")))
	r = drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "final pass done")
	requireSameTree(t, src, dst, true, true)
}

func TestSyncDeleteAndVerify(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeTree(t, src, treeOpts{dirs: 4, filesPerDir: 6, maxSize: 1024, symlinks: true, hostile: true, seed: 5})
	require.NoError(t, os.MkdirAll(filepath.Join(dst, "old dir", "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "old dir", "sub", "x"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "old file"), []byte("x"), 0o644))

	// What an rsync killed mid-file leaves: its temporary file, in
	// drove's temporary directory.
	leftover := filepath.Join(dst, syncer.TempDirName(filepath.Join(dir, "w1")), hostileNames[0]+"0.aB3xY9")
	require.NoError(t, os.MkdirAll(filepath.Dir(leftover), 0o755))
	require.NoError(t, os.WriteFile(leftover, []byte("partial"), 0o600))

	// Without --delete the extras stay, and --verify only counts them;
	// the final pass removes the leftover.
	r := drove(t, nil, nil, "sync", "-n", "3/:", "-f", "5", "-d", filepath.Join(dir, "w1"), "--verify", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.FileExists(t, filepath.Join(dst, "old file"))
	require.NoFileExists(t, leftover)
	require.NoDirExists(t, filepath.Dir(leftover))
	require.Contains(t, r.stderr, "0 differences, 2 entries only in DST")

	// A planted difference: same size and mtime, other content. Only
	// --verify=checksum sees it; a new run of the finished work directory
	// does not copy it again (rsync's quick check).
	victim := filepath.Join(dst, hostileNames[0], hostileNames[0]+"0")
	fi, err := os.Stat(victim)
	require.NoError(t, err)
	require.Positive(t, fi.Size())
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	b[0] ^= 0xff
	require.NoError(t, os.WriteFile(victim, b, fi.Mode()))
	require.NoError(t, os.Chtimes(victim, fi.ModTime(), fi.ModTime()))
	r = drove(t, nil, nil, "sync", "-n", "3/:", "-f", "5", "-d", filepath.Join(dir, "w1"), "--verify", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = drove(t, nil, nil, "sync", "-n", "3/:", "-f", "5", "-d", filepath.Join(dir, "w1"), "--verify=checksum", src, dst)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, fmt.Sprintf("drove: sync: differs: %q: content\n", filepath.Join(hostileNames[0], hostileNames[0]+"0")))
	require.Contains(t, r.stderr, "DST differs from SRC in 1 entries")
	// With another mtime, the next run copies it again.
	require.NoError(t, os.Chtimes(victim, fi.ModTime().Add(time.Hour), fi.ModTime().Add(time.Hour)))
	r = drove(t, nil, nil, "sync", "-n", "3/:", "-d", filepath.Join(dir, "w1"), "--verify=checksum", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "this was run 4 of")

	// A new sync with --delete (and rsync --checksum, which sees the
	// planted content) makes DST equal SRC: the final pass deletes the
	// extras.
	r = drove(t, nil, nil, "sync", "-n", "3/:", "-f", "5", "-d", filepath.Join(dir, "w2"), "--delete", "--tool-args=--checksum", "--verify=checksum", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoFileExists(t, filepath.Join(dst, "old file"))
	require.NoDirExists(t, filepath.Join(dst, "old dir"))
	requireSameTree(t, src, dst, true, true)
}

func TestSyncRcloneLocalNodes(t *testing.T) {
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Skip("rclone is not installed")
	}
	dir := t.TempDir()
	src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	makeTree(t, src, treeOpts{dirs: 6, filesPerDir: 8, maxSize: 2048, hostile: true, seed: 6})
	require.NoError(t, os.MkdirAll(filepath.Join(dst, "extra"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "extra", "x"), []byte("x"), 0o644))
	t.Chdir(dir)
	t.Setenv("RCLONE_CONFIG", filepath.Join(dir, "rclone.conf"))
	r := drove(t, nil, nil, "sync", "--mode", "rclone", "-n", "3/:", "-f", "9", "-d", work, "--delete", "--verify=checksum", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Greater(t, journalCount(t, work, "done"), 4)
	// rclone keeps contents and file mtimes, not permissions or directory
	// mtimes.
	requireSameTree(t, src, dst, false, false)
	require.NoFileExists(t, filepath.Join(dir, "pwned"))
}

func TestSyncBadInput(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	src := filepath.Join(dir, "src")
	makeTree(t, src, treeOpts{dirs: 1, filesPerDir: 2, maxSize: 10, seed: 7})
	work := filepath.Join(dir, "work")
	r := drove(t, nil, nil, "sync", "-n", ":", "-d", work, src, filepath.Join(dir, "dst"))
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "afile"), []byte("keep"), 0o644))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", ":", "-d", work, src, filepath.Join(dir, "other")}, `holds a sync with DST`},
		{[]string{"-n", ":", "-d", work, "--mode", "rclone", src, filepath.Join(dir, "dst")}, `holds a sync with tool "rsync"`},
		{[]string{"-n", ":", filepath.Join(dir, "nope"), filepath.Join(dir, "dst")}, "SRC: stat"},
		{[]string{"-n", ":", src, filepath.Join(src, "inside")}, "is inside SRC"},
		{[]string{"-n", ":", src, filepath.Join(dir, "no", "parent")}, "DST's parent"},
		{[]string{"-n", "somehost", src, filepath.Join(dir, "dst")}, "--work DIR is required with remote nodes"},
		{[]string{"-n", ":", "-n", "somehost", src, filepath.Join(dir, "dst")}, "--work DIR is required with remote nodes (somehost)"},
		{[]string{"-n", ":", "--size", "lots", src, filepath.Join(dir, "dst")}, "--size"},
		{[]string{"-n", ":", "--verify=bits", src, filepath.Join(dir, "dst")}, "--verify=bits"},
		{[]string{src, filepath.Join(dir, "dst")}, "no nodes"},
		// issue 19.10: refused before anything is copied or evicted.
		{[]string{"-n", ":", "-d", filepath.Join(dir, "w2"), src, filepath.Join(dir, "afile")}, "DST " + filepath.Join(dir, "afile") + ": not a directory"},
		{[]string{"-n", ":", "-d", filepath.Join(dir, "w3"), "--mode", "rclone", "--verify", src, "remote:bucket"}, "--verify needs DST to be a directory on this machine"},
	} {
		r := drove(t, nil, nil, append([]string{"sync"}, tc.args...)...)
		require.Equal(t, exitUsage, r.code, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stderr, tc.want, tc.args)
		require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	}
	require.NoDirExists(t, filepath.Join(dir, "w2"))
	require.NoDirExists(t, filepath.Join(dir, "w3"))
	b, err := os.ReadFile(filepath.Join(dir, "afile"))
	require.NoError(t, err)
	require.Equal(t, "keep", string(b))
}

func TestSyncExcludesInPartitionsFinalPassAndVerify(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeTree(t, src, treeOpts{dirs: 3, filesPerDir: 4, maxSize: 100, seed: 8})
	for _, p := range []string{"d00/x.tmp", "d01/keep/me", "d01/skip/deep/y"} {
		require.NoError(t, os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, p), []byte(p), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dst, "d00"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "d00", "old.tmp"), []byte("x"), 0o644))
	r := drove(t, nil, nil, "sync", "-n", "2/:", "-f", "3", "-d", filepath.Join(dir, "w"), "-x", "*.tmp", "-x", "d01/skip",
		"--delete", "--verify=checksum", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.FileExists(t, filepath.Join(dst, "d01", "keep", "me"))
	require.NoFileExists(t, filepath.Join(dst, "d00", "x.tmp"))
	require.NoDirExists(t, filepath.Join(dst, "d01", "skip"))
	require.FileExists(t, filepath.Join(dst, "d00", "old.tmp"), "excluded names are not deleted (rsync's rule)")
	require.Contains(t, r.stderr, "0 differences")
}

// TestSyncNeverRemovesWhatItDidNotCreate: without --delete, files of DST
// that are not in SRC stay, whatever their names — dot-files that look
// like rsync's temporary files included — and SRC's own such names are
// copied; only drove's temporary directory goes.
func TestSyncNeverRemovesWhatItDidNotCreate(t *testing.T) {
	dir := t.TempDir()
	src, dst, work := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	makeTree(t, src, treeOpts{dirs: 3, filesPerDir: 4, maxSize: 100, seed: 9})
	require.NoError(t, os.WriteFile(filepath.Join(src, ".in-src.AbC123"), []byte("src"), 0o644))
	extras := []string{".env.sample", "sub/.npmrc.backup", ".bashrc.old123", "d00/.f000.Xy12_z", ".x.AbC123"}
	for _, p := range extras {
		require.NoError(t, os.MkdirAll(filepath.Join(dst, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dst, p), []byte("mine: "+p), 0o600))
	}
	r := drove(t, nil, nil, "sync", "-n", "2/:", "-f", "4", "-d", work, "--verify=checksum", src, dst)
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, p := range extras {
		b, err := os.ReadFile(filepath.Join(dst, p))
		require.NoError(t, err, "%s was removed", p)
		require.Equal(t, "mine: "+p, string(b))
	}
	require.FileExists(t, filepath.Join(dst, ".in-src.AbC123"))
	require.NoDirExists(t, filepath.Join(dst, syncer.TempDirName(work)))
	require.Contains(t, r.stderr, fmt.Sprintf("0 differences, %d entries only in DST", len(extras)))
}

// TestSyncRefusesOverlaps: --delete with SRC inside DST used to delete SRC
// (exit 0, "final pass done"), and a work directory inside DST was
// deleted by the final pass. Overlaps are refused on resolved paths, with
// one line and exit 2, before anything is touched.
func TestSyncRefusesOverlaps(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	vol := filepath.Join(dir, "vol")
	makeTree(t, filepath.Join(vol, "incoming"), treeOpts{dirs: 2, filesPerDir: 3, maxSize: 100, seed: 10})
	require.NoError(t, os.Symlink(vol, filepath.Join(dir, "vol-link")))
	before := readTree(t, vol, true, true)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(vol, "incoming"), vol}, "SRC " + filepath.Join(vol, "incoming") + " is inside DST " + vol},
		{[]string{filepath.Join(dir, "vol-link", "incoming"), vol}, "is inside DST"},
		{[]string{"-d", filepath.Join(vol, "w"), filepath.Join(dir, "src2"), vol}, "work directory " + filepath.Join(vol, "w") + " is inside DST"},
		{[]string{vol, filepath.Join(dir, "vol-link", "incoming", "copy")}, "DST"},
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "src2"), 0o755))
		args := append([]string{"sync", "-n", ":", "--delete"}, tc.args...)
		r := drove(t, nil, nil, args...)
		require.Equal(t, exitUsage, r.code, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stderr, tc.want)
		require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	}
	require.Equal(t, before, readTree(t, vol, true, true), "nothing touched")
}
