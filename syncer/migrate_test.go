package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/partition"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

func localNodes(slots int) []Node {
	return []Node{{Node: runner.Node{Name: "local", Slots: slots, Connect: func(context.Context) (runner.Host, error) {
		return &runner.Local{Grace: time.Second}, nil
	}}, Local: true}}
}

// names that test the list formats: rsync's "#"/";" comment guard,
// rclone's encoding of control characters, and a newline.
var names = []string{"plain", "#hash", ";semi", "tab\there", "new\nline", "sp ace", "-dash", "$(x)"}

func writeFiles(t *testing.T, dir, suffix string) []string {
	t.Helper()
	var rels []string
	for i, n := range names {
		sub := filepath.Join(dir, fmt.Sprintf("d%d", i%3))
		require.NoError(t, os.MkdirAll(sub, 0o755))
		name := n + suffix
		require.NoError(t, os.WriteFile(filepath.Join(sub, name), []byte(strings.Repeat(name, i+1)), 0o644))
		rels = append(rels, fmt.Sprintf("d%d/%s", i%3, name))
	}
	return rels
}

// listEntries reads every list of crawl c as relative paths.
func listEntries(t *testing.T, work string, c int, tool copytool.Tool) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(work, "lists", fmt.Sprint(c), "part.*"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		sep := []byte{0}
		if tool == copytool.Rclone {
			sep = []byte{'\n'}
		}
		for _, e := range bytes.Split(b, sep) {
			if len(e) > 0 {
				out = append(out, strings.TrimPrefix(string(e), "./"))
			}
		}
	}
	sort.Strings(out)
	return out
}

// rewriteJournal keeps the records keep accepts.
func rewriteJournal(t *testing.T, work string, keep func(line string) bool) {
	t.Helper()
	p := filepath.Join(work, journalName)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	var out []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" && keep(l) {
			out = append(out, l)
		}
	}
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(out, "")), 0o644))
}

// TestResumeOfIncompleteCrawl: when the journal has no complete crawl, a
// new crawl lists exactly the paths no earlier list holds (new files),
// never one already listed, and the unfinished partition runs again from
// its old list.
func TestResumeOfIncompleteCrawl(t *testing.T) {
	for _, tool := range []copytool.Tool{copytool.Rsync, copytool.Rclone} {
		t.Run(tool.String(), func(t *testing.T) {
			if _, err := exec.LookPath(tool.String()); err != nil {
				t.Skip(tool.String() + " is not installed")
			}
			t.Setenv("RCLONE_CONFIG", filepath.Join(t.TempDir(), "rclone.conf"))
			dir := t.TempDir()
			o := Options{
				Src: filepath.Join(dir, "src"), Dst: filepath.Join(dir, "dst"), Work: filepath.Join(dir, "work"),
				Tool: tool, MaxFiles: 3, FinalPass: false, Nodes: localNodes(2), MaxAttempts: 1,
			}
			writeFiles(t, o.Src, "")
			res, err := Run(context.Background(), o)
			require.NoError(t, err)
			require.True(t, res.OK(), "%+v", res)
			first := listEntries(t, o.Work, 1, tool)
			require.Len(t, first, len(names))

			// As if the run had stopped before the crawl ended and before
			// partition 2 was copied; files appeared since.
			rewriteJournal(t, o.Work, func(l string) bool {
				return !strings.Contains(l, `"t":"crawled"`) && !strings.Contains(l, `"t":"done","crawl":1,"seq":2,`)
			})
			added := writeFiles(t, o.Src, " new")
			require.NoError(t, os.RemoveAll(o.Dst))
			res, err = Run(context.Background(), o)
			require.NoError(t, err)
			require.True(t, res.OK(), "%+v", res)
			require.True(t, res.Resumed)

			want := append([]string(nil), added...)
			if tool == copytool.Rclone {
				for i, a := range want {
					want[i] = partition.RclonePath(a)
				}
			}
			sort.Strings(want)
			require.Equal(t, want, listEntries(t, o.Work, 2, tool), "crawl 2 lists the new paths only")
			// Only partition 2 of crawl 1 and crawl 2's partitions ran:
			// DST (removed) holds exactly those files.
			var got []string
			require.NoError(t, filepath.WalkDir(o.Dst, func(p string, d os.DirEntry, err error) error {
				require.NoError(t, err)
				if !d.IsDir() {
					rel, _ := filepath.Rel(o.Dst, p)
					got = append(got, rel)
				}
				return nil
			}))
			sort.Strings(got)
			part2 := listEntriesOf(t, filepath.Join(o.Work, "lists", "1", "part.000002"), tool)
			expect := append(append([]string(nil), added...), part2...)
			sort.Strings(expect)
			require.Equal(t, expect, got)
		})
	}
}

func listEntriesOf(t *testing.T, list string, tool copytool.Tool) []string {
	b, err := os.ReadFile(list)
	require.NoError(t, err)
	var out []string
	sep := []byte{0}
	if tool == copytool.Rclone {
		sep = []byte{'\n'}
	}
	for _, e := range bytes.Split(b, sep) {
		if len(e) == 0 {
			continue
		}
		s := strings.TrimPrefix(string(e), "./")
		if tool == copytool.Rclone {
			for _, n := range names {
				for _, d := range []string{"d0/", "d1/", "d2/"} {
					if partition.RclonePath(d+n) == s {
						s = d + n
					}
				}
			}
		}
		out = append(out, s)
	}
	return out
}

func TestJournalTornLastLineAndBadLines(t *testing.T) {
	work := t.TempDir()
	p := filepath.Join(work, journalName)
	good := `{"t":"sync","src":"/s","dst":"/d","tool":"rsync"}` + "\n" + `{"t":"part","crawl":1,"seq":1,"files":2,"bytes":3}` + "\n"
	require.NoError(t, os.WriteFile(p, []byte(good+`{"t":"done","cra`), 0o644))
	j, st, err := openJournal(work)
	require.NoError(t, err)
	require.Len(t, st.parts, 1)
	require.False(t, st.parts[partKey{1, 1}].Done, "the torn record is dropped")
	require.NoError(t, j.append(record{T: "done", Crawl: 1, Seq: 1}))

	// A second sync on the same work directory is refused while the first
	// holds it.
	_, _, err = openJournal(work)
	var be *BusyError
	require.ErrorAs(t, err, &be)
	require.NoError(t, j.close())

	j, st, err = openJournal(work)
	require.NoError(t, err)
	require.True(t, st.parts[partKey{1, 1}].Done)
	require.NoError(t, j.close())

	require.NoError(t, os.WriteFile(p, []byte(good+"garbage\n"+`{"t":"final"}`+"\n"), 0o644))
	_, _, err = openJournal(work)
	require.ErrorContains(t, err, p+":3:")
	require.NoError(t, os.WriteFile(p, []byte(good+`{"t":"done","crawl":1,"seq":9}`+"\n"), 0o644))
	_, _, err = openJournal(work)
	require.ErrorContains(t, err, p+":3: partition 1/9 done before it was created")
}

func TestMismatchedWorkDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "src"), 0o755))
	o := Options{Src: filepath.Join(dir, "src"), Dst: filepath.Join(dir, "dst"), Work: filepath.Join(dir, "work"), Nodes: localNodes(1)}
	_, err := Run(context.Background(), o)
	require.NoError(t, err)
	o.Dst = filepath.Join(dir, "elsewhere")
	_, err = Run(context.Background(), o)
	var me *MismatchError
	require.ErrorAs(t, err, &me)
	require.Equal(t, "DST", me.What)
}

func TestVerifyFindsEachKindOfDifference(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	mt := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	write := func(root, rel, data string) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
		require.NoError(t, os.Chtimes(p, mt, mt))
	}
	for _, root := range []string{src, dst} {
		write(root, "same", "abc")
		write(root, "a/content", "abc")
		write(root, "excluded.tmp", "abc")
		require.NoError(t, os.Symlink("t1", filepath.Join(root, "link")))
	}
	write(dst, "a/content", "abd")
	write(src, "size", "abc")
	write(dst, "size", "abcd")
	write(src, "mtime", "abc")
	write(dst, "mtime", "abc")
	require.NoError(t, os.Chtimes(filepath.Join(dst, "mtime"), mt.Add(time.Second), mt.Add(time.Second)))
	write(src, "missing", "x")
	write(src, "type", "x")
	require.NoError(t, os.Mkdir(filepath.Join(dst, "type"), 0o755))
	require.NoError(t, os.Symlink("t1", filepath.Join(src, "link2")))
	require.NoError(t, os.Symlink("t2", filepath.Join(dst, "link2")))
	write(dst, "extra/deep/file", "x")
	write(src, "excluded.tmp", "changed in SRC only")

	ctx := context.Background()
	rep, err := Verify(ctx, VerifyOptions{Src: src, Dst: dst, Excludes: []string{"*.tmp"}})
	require.NoError(t, err)
	require.Equal(t, []Difference{
		{"link2", "symlink target"}, {"missing", "missing in DST"}, {"mtime", "mtime"}, {"size", "size"}, {"type", "type"},
	}, rep.List)
	require.Equal(t, 5, rep.Differences)
	require.Equal(t, 1, rep.Extras, "extra/ counts once")

	rep, err = Verify(ctx, VerifyOptions{Src: src, Dst: dst, Excludes: []string{"*.tmp"}, Checksum: true, Extras: true})
	require.NoError(t, err)
	require.Equal(t, 7, rep.Differences)
	require.Contains(t, rep.List, Difference{"a/content", "content"})
	require.Contains(t, rep.List, Difference{"extra", "extra in DST"})

	_, err = Verify(ctx, VerifyOptions{Src: src, Dst: filepath.Join(dir, "nope")})
	require.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
}

// shellWords returns the words sh makes of line (no command is run: the
// words are printed, NUL-terminated).
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", `printf '%s\0' `+line).Output()
	require.NoError(t, err, "%s", line)
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// TestCommandsQuoteEveryPath: every path and argument is a parameter of
// copy.sh, read back by a real sh as the very value given (so none is
// ever script text), and the copy's own command line (eval'd by copy.sh)
// holds them as single words too.
func TestCommandsQuoteEveryPath(t *testing.T) {
	o := Options{Src: "/s/$(touch x)", Dst: "/d/it's", Work: "/w/a b", Tool: copytool.Rsync,
		ToolArgs: []string{"--exclude=*;rm"}, Excludes: []string{"*.o", "build/out"}, Delete: true, nonce: "n0"}
	p := &Part{Crawl: 1, Seq: 2, List: "/w/a b/lists/1/part.000002", Log: "/w/a b/log/1/part.000002.log"}
	cmd, err := o.partCommand(p)
	require.NoError(t, err)
	tmp := "/d/it's/.drove-tmp.e3b001a5212b"
	scripts := func(w []string) {
		require.Equal(t, []string{"sh", "-c", oneLine(copySh), "sh", "n0"}, w[:5])
		require.Equal(t, []string{oneLine(confineSh), oneLine(mountinfoAwk)}, w[12:14])
		require.Equal(t, "", w[15], "no view marker")
		require.Equal(t, oneLine(keepSh), w[16])
	}
	w := shellWords(t, cmd)
	scripts(w)
	require.Equal(t, "", w[14], "rsync's copy is checked by its messages")
	require.Equal(t, []string{"", "", "0"}, w[17:], "with --delete, no keep check")
	require.Equal(t, []string{"/w/a b/log/1", "/w/a b/log/1/part.000002.log", "rsync", tmp, "/s/$(touch x)", "/d/it's/"}, w[5:11])
	rsh := `sh -c 'shift; eval "$@"' sh`
	require.Equal(t, []string{"rsync", "-a", "--stats", "--from0", "--files-from=/w/a b/lists/1/part.000002", "--force", "--temp-dir=.drove-tmp.e3b001a5212b",
		"--exclude=*;rm", "-e", rsh, "--rsync-path=" + rsyncPath(o.Src), "drove::$drove_m/", "/d/it's/"}, shellWords(t, strings.ReplaceAll(w[11], `"drove::$drove_m/"`, `'drove::$drove_m/'`)))
	call, ok := strings.CutPrefix(rsyncPath(o.Src), "drove_rsyncd() { "+oneLine(rsyncdSh)+" }; drove_rsyncd ")
	require.True(t, ok, "the daemon's command defines rsyncd.sh as a function and calls it")
	daemon := shellWords(t, call)
	require.Equal(t, "17", daemon[0])
	require.Equal(t, strings.Split(strings.TrimSuffix(daemonConf(o.Src), "\n"), "\n"), daemon[1:18])
	require.Equal(t, []string{"0"}, daemon[18:])
	require.Contains(t, daemon, "path = /s/$(touch x)/")

	w = shellWords(t, o.finalCommand(""))
	scripts(w)
	require.Equal(t, []string{"/w/a b/log", "/w/a b/log/final.log", "rsync-final", tmp, "/s/$(touch x)", "/d/it's/"}, w[5:11])
	require.Equal(t, []string{"rsync", "-a", "--stats", "--delete", "--force", "--exclude=/.drove-tmp.e3b001a5212b/", "--temp-dir=.drove-tmp.e3b001a5212b",
		"--exclude=*.o", "--exclude=/build/out", "--exclude=*;rm", "-e", rsh, "--rsync-path=" + rsyncPath(o.Src), "drove::$drove_m/", "/d/it's/"},
		shellWords(t, strings.ReplaceAll(w[11], `"drove::$drove_m/"`, `'drove::$drove_m/'`)))
	// A final pass given the view marker runs only where it is seen, and
	// never copies it.
	w = shellWords(t, o.finalCommand(".drove-view.x"))
	require.Equal(t, ".drove-view.x", w[15])
	require.Contains(t, shellWords(t, strings.ReplaceAll(w[11], `"drove::$drove_m/"`, `'drove::$drove_m/'`)), "--exclude=/.drove-view.x")

	// --max-delete: partitions replace nothing (no --force; conflicts are
	// left, unreported, to the final pass), which gets rsync's limit.
	o.LimitDelete, o.MaxDelete = true, 3
	cmd, err = o.partCommand(p)
	require.NoError(t, err)
	w = shellWords(t, cmd)
	require.NotContains(t, w[11], "--force")
	require.Contains(t, w[11], `--files-from="$drove_list"`)
	require.Equal(t, []string{"rsync-list", p.List, "0"}, w[17:])
	w = shellWords(t, o.finalCommand(""))
	require.Contains(t, shellWords(t, w[11]), "--max-delete=3")
	require.Equal(t, []string{"", "", "0"}, w[17:])
	o.LimitDelete = false

	// Without --delete, the keep check runs first and reports; the copy
	// reads the list (or the final pass the excludes) it made.
	o.Delete = false
	require.NotContains(t, o.finalCommand(""), "--delete")
	cmd, err = o.partCommand(p)
	require.NoError(t, err)
	w = shellWords(t, cmd)
	require.Contains(t, w[11], `--files-from="$drove_list"`)
	require.Equal(t, []string{"rsync-list", p.List, "1"}, w[17:])
	w = shellWords(t, o.finalCommand(""))
	require.Contains(t, w[11], `--from0`)
	require.Contains(t, w[11], `--exclude-from="$drove_list"`)
	require.Equal(t, []string{"rsync-walk", "-", "1"}, w[17:])
	for _, tool := range []copytool.Tool{copytool.Rsync, copytool.Rclone} {
		o := o
		o.Tool = tool
		cmd, err := o.partCommand(p)
		require.NoError(t, err)
		for _, c := range []string{cmd, o.finalCommand("")} {
			require.NotContains(t, c, "\n", "a job's text is one line")
		}
	}
	o.Tool, o.Dst, o.Delete = copytool.Rclone, "remote:bucket/x", true
	w = shellWords(t, o.finalCommand(""))
	scripts(w)
	require.Equal(t, []string{"/w/a b/log", "/w/a b/log/final.log", "rclone-confined"}, w[5:8])
	require.Equal(t, "/s/$(touch x)", w[9])
	require.Equal(t, []string{"rclone", "sync", "--use-json-log", "--stats-log-level", "NOTICE", "--stats", "1h", "--create-empty-src-dirs", "--exclude", "*.o", "--exclude", "*.o/**", "--exclude", "/build/out",
		"--exclude", "/build/out/**", "--exclude=*;rm", "/s/$(touch x)", "remote:bucket/x"}, shellWords(t, w[11]))

	// rclone's copy of a list is followed by DST's listing of it.
	o.ToolArgs = []string{"--exclude=*;rm", "--create-empty-src-dirs", "-P"}
	cmd, err = o.partCommand(p)
	require.NoError(t, err)
	w = shellWords(t, cmd)
	require.Equal(t, []string{"rclone", "lsjson", "-R", "--files-only", "--no-mimetype", "--no-modtime", "--files-from-raw", "/w/a b/lists/1/part.000002",
		"--exclude=*;rm", "remote:bucket/x", ">/w/a b/log/1/part.000002.dst.json"}, shellWords(t, strings.Replace(w[14], ">", `\>`, 1)))
}
