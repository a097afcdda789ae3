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
func listEntries(t *testing.T, work string, c int, tool partition.Mode) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(work, "lists", fmt.Sprint(c), "part.*"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		sep := []byte{0}
		if tool == partition.ModeRclone {
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
	for _, tool := range []partition.Mode{partition.ModeRsync, partition.ModeRclone} {
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
			if tool == partition.ModeRclone {
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

func listEntriesOf(t *testing.T, list string, tool partition.Mode) []string {
	b, err := os.ReadFile(list)
	require.NoError(t, err)
	var out []string
	sep := []byte{0}
	if tool == partition.ModeRclone {
		sep = []byte{'\n'}
	}
	for _, e := range bytes.Split(b, sep) {
		if len(e) == 0 {
			continue
		}
		s := strings.TrimPrefix(string(e), "./")
		if tool == partition.ModeRclone {
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

func TestCommandsQuoteEveryPath(t *testing.T) {
	o := Options{Src: "/s/$(touch x)", Dst: "/d/it's", Work: "/w/a b", Tool: partition.ModeRsync,
		ToolArgs: []string{"--exclude=*;rm"}, Excludes: []string{"*.o", "build/out"}, Delete: true}
	p := &Part{Crawl: 1, Seq: 2, List: "/w/a b/lists/1/part.000002", Log: "/w/a b/log/1/part.000002.log"}
	cmd, err := o.partCommand(p)
	require.NoError(t, err)
	require.Equal(t, `mkdir -p -- '/w/a b/log/1' && { echo "== $(date -u) $(uname -n)"; drove_m=user; [ "$(id -u)" -eq 0 ] && drove_m=root; mkdir -p -- '/d/it'\''s/.drove-tmp.e3b001a5212b' && rsync -a --from0 --files-from='/w/a b/lists/1/part.000002' --temp-dir=.drove-tmp.e3b001a5212b --force '--exclude=*;rm' -e 'sh -c '\''shift; eval "$@"'\'' sh' --rsync-path='drove_c=$(mktemp "${TMPDIR:-/tmp}/drove-rsyncd.XXXXXX") && trap '\''rm -f -- "$drove_c"'\'' EXIT && trap '\''exit 1'\'' HUP INT TERM USR1 USR2 PIPE && printf '\''%s\n'\'' '\''log file = /dev/null'\'' '\''reverse lookup = no'\'' '\''[root]'\'' '\''path = /s/$(touch x)/'\'' '\''use chroot = yes'\'' '\''uid = 0'\'' '\''gid = 0'\'' '\''numeric ids = yes'\'' '\''read only = yes'\'' '\''list = no'\'' '\''munge symlinks = no'\'' '\''[user]'\'' '\''path = /s/$(touch x)/'\'' '\''use chroot = no'\'' '\''read only = yes'\'' '\''list = no'\'' '\''munge symlinks = no'\'' >"$drove_c" && rsync --config="$drove_c"' "drove::$drove_m/" '/d/it'\''s/'; } >>'/w/a b/log/1/part.000002.log' 2>&1; s=$?; if [ $s -eq 24 ]; then echo drove-vanished; s=0; elif [ $s -eq 23 ]; then echo '== exit 23' >>'/w/a b/log/1/part.000002.log' && echo drove-vanished && s=0; fi; exit $s`, cmd)
	require.Equal(t, `mkdir -p -- '/w/a b/log' && { echo "== $(date -u) $(uname -n)"; drove_m=user; [ "$(id -u)" -eq 0 ] && drove_m=root; mkdir -p -- '/d/it'\''s/.drove-tmp.e3b001a5212b' && rsync -a --delete --force --exclude=/.drove-tmp.e3b001a5212b/ --temp-dir=.drove-tmp.e3b001a5212b '--exclude=*.o' --exclude=/build/out '--exclude=*;rm' -e 'sh -c '\''shift; eval "$@"'\'' sh' --rsync-path='drove_c=$(mktemp "${TMPDIR:-/tmp}/drove-rsyncd.XXXXXX") && trap '\''rm -f -- "$drove_c"'\'' EXIT && trap '\''exit 1'\'' HUP INT TERM USR1 USR2 PIPE && printf '\''%s\n'\'' '\''log file = /dev/null'\'' '\''reverse lookup = no'\'' '\''[root]'\'' '\''path = /s/$(touch x)/'\'' '\''use chroot = yes'\'' '\''uid = 0'\'' '\''gid = 0'\'' '\''numeric ids = yes'\'' '\''read only = yes'\'' '\''list = no'\'' '\''munge symlinks = no'\'' '\''[user]'\'' '\''path = /s/$(touch x)/'\'' '\''use chroot = no'\'' '\''read only = yes'\'' '\''list = no'\'' '\''munge symlinks = no'\'' >"$drove_c" && rsync --config="$drove_c"' "drove::$drove_m/" '/d/it'\''s/' ; s=$?; rm -rf -- '/d/it'\''s/.drove-tmp.e3b001a5212b' && touch -c -m -r '/s/$(touch x)/' '/d/it'\''s/' ; (exit $s); } >>'/w/a b/log/final.log' 2>&1; s=$?; if [ $s -eq 24 ]; then echo drove-vanished; s=0; elif [ $s -eq 23 ]; then echo '== exit 23' >>'/w/a b/log/final.log' && echo drove-vanished && s=0; fi; exit $s`, o.finalCommand())
	o.Delete = false
	require.NotContains(t, o.finalCommand(), "--delete")
	for _, tool := range []partition.Mode{partition.ModeRsync, partition.ModeRclone} {
		o := o
		o.Tool = tool
		cmd, err := o.partCommand(p)
		require.NoError(t, err)
		for _, c := range []string{cmd, o.finalCommand()} {
			require.NotContains(t, c, "\n", "a job's text is one line")
		}
	}
	o.Tool, o.Dst, o.Delete = partition.ModeRclone, "remote:bucket/x", true
	require.Equal(t, `mkdir -p -- '/w/a b/log' && { echo "== $(date -u) $(uname -n)"; drove_u=-m; [ "$(id -u)" -eq 0 ] || drove_u=-rm; if [ "$(uname -s)" = Linux ] && unshare $drove_u true 2>/dev/null; then unshare $drove_u sh -c 'mount --rbind -- "$1" "$1" 2>/dev/null || exit 125; drove_s=${1%/} LC_ALL=C awk '\''function dec(p,  out, c) { out = ""; while (match(p, /\\[0-7][0-7][0-7]/)) { c = substr(p, RSTART + 1, 3); out = out substr(p, 1, RSTART - 1) sprintf("%c", substr(c, 1, 1) * 64 + substr(c, 2, 1) * 8 + substr(c, 3, 1)); p = substr(p, RSTART + 4) } return out p } BEGIN { s = ENVIRON["drove_s"] } { m = dec($5); if (m == s || index(m, s "/") == 1) { if (m ~ /\n/) { print "x"; exit } print $6 " " m } }'\'' /proc/self/mountinfo | { n=0; while IFS='\'' '\'' read -r o m; do mount -o "remount,bind,nosymfollow,$o" -- "$m" 2>/dev/null || exit 125; n=1; done; [ $n = 1 ]; } || exit 125; eval "$2"' sh '/s/$(touch x)' 'rclone sync --create-empty-src-dirs --exclude '\''*.o'\'' --exclude '\''*.o/**'\'' --exclude /build/out --exclude '\''/build/out/**'\'' '\''--exclude=*;rm'\'' '\''/s/$(touch x)'\'' remote:bucket/x'; s=$?; else s=125; fi; if [ $s -eq 125 ]; then echo drove-unconfined >&3; rclone sync --create-empty-src-dirs --exclude '*.o' --exclude '*.o/**' --exclude /build/out --exclude '/build/out/**' '--exclude=*;rm' '/s/$(touch x)' remote:bucket/x; else (exit $s); fi; } 3>&1 >>'/w/a b/log/final.log' 2>&1; s=$?; exit $s`, o.finalCommand())
}
