package filecopy

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
)

// A tree pulled from SFTP nodes and the local node lands in DEST/NODE/,
// identical but for setuid and setgid, which are dropped.
func TestPullTree(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	makeTree(t, src)
	want := snapshot(t, src)
	for k, e := range want {
		e.Mode &^= fs.ModeSetuid | fs.ModeSetgid
		want[k] = e
	}
	key := sshtest.NewSigner(t)
	a := sshtest.New(t, sshtest.Options{SFTP: true})
	b := sshtest.New(t, sshtest.Options{SFTP: true})
	dest := filepath.Join(t.TempDir(), "gathered")

	sum, err := Pull(context.Background(), []Node{sshNode("a", a, key), sshNode("b", b, key), {Name: "local"}}, Options{Sources: []string{src}, Dest: dest})
	require.NoError(t, err)
	for _, r := range sum.Nodes {
		require.True(t, r.OK(), "%s: %v", r.Node, r.Errors)
	}
	for _, n := range []string{"a", "b", "local"} {
		requireSameTree(t, want, snapshot(t, filepath.Join(dest, n, "tree")))
	}
	requireNoTemp(t, dest)
}

// fakeEntry is one entry a hostile node lists.
type fakeEntry struct {
	name   string
	mode   fs.FileMode
	data   string
	target string
}

func (e fakeEntry) Name() string       { return e.name }
func (e fakeEntry) Size() int64        { return int64(len(e.data)) }
func (e fakeEntry) Mode() fs.FileMode  { return e.mode }
func (e fakeEntry) ModTime() time.Time { return time.Unix(1e9, 0) }
func (e fakeEntry) IsDir() bool        { return e.mode.IsDir() }
func (e fakeEntry) Sys() any           { return nil }

// hostileNode is an SFTP file system that says whatever its lists say:
// names with "/" or "..", one name listed twice (a link, then a directory).
type hostileNode struct {
	lists map[string][]fakeEntry // directory → entries, in order
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(out []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if int(off)+n == len(l) {
		return n, io.EOF
	}
	return n, nil
}

// lookup finds the first entry named by p (the last one listed when last).
func (h *hostileNode) lookup(p string) (fakeEntry, bool) {
	for _, e := range h.lists[path.Dir(p)] {
		if e.name == path.Base(p) {
			return e, true
		}
	}
	if _, ok := h.lists[p]; ok {
		return fakeEntry{name: path.Base(p), mode: fs.ModeDir | 0o755}, true
	}
	return fakeEntry{}, false
}

// Fileread serves the regular file listed under the name, even where a
// link of the same name was listed first.
func (h *hostileNode) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	for _, e := range h.lists[path.Dir(r.Filepath)] {
		if e.name == path.Base(r.Filepath) && e.mode.IsRegular() {
			return strings.NewReader(e.data), nil
		}
	}
	return nil, os.ErrNotExist
}

func (h *hostileNode) Filewrite(*sftp.Request) (io.WriterAt, error) { return nil, syscall.EPERM }
func (h *hostileNode) Filecmd(*sftp.Request) error                  { return syscall.EPERM }

func (h *hostileNode) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	switch r.Method {
	case "List":
		var l listerAt
		for _, e := range h.lists[r.Filepath] {
			l = append(l, e)
		}
		return l, nil
	case "Readlink":
		if e, ok := h.lookup(r.Filepath); ok && e.target != "" {
			return listerAt{fakeEntry{name: e.target}}, nil
		}
		return nil, os.ErrNotExist
	}
	if e, ok := h.lookup(r.Filepath); ok {
		return listerAt{e}, nil
	}
	return nil, os.ErrNotExist
}

func (h *hostileNode) Lstat(r *sftp.Request) (sftp.ListerAt, error) { return h.Filelist(r) }

// A node that lists "../" names, names with "/", and a link to outside
// followed by a directory of the same name cannot write outside
// DEST/NODE/, and every refusal is reported.
func TestPullHostileNode(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	require.NoError(t, os.Mkdir(outside, 0o755))
	victim := filepath.Join(outside, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("original"), 0o644))
	file := fs.FileMode(0o644)
	h := &hostileNode{lists: map[string][]fakeEntry{
		"/t": {
			{name: "../escape", mode: file, data: "pwned"},
			{name: "../../escape", mode: file, data: "pwned"},
			{name: "a/b", mode: file, data: "pwned"},
			{name: "..", mode: fs.ModeDir | 0o755},
			{name: ".", mode: fs.ModeDir | 0o755},
			{name: "", mode: file, data: "pwned"},
			{name: "ok", mode: file, data: "fine"},
			{name: "suid", mode: file | fs.ModeSetuid | fs.ModeSetgid | 0o111, data: "s"},
			{name: "link", mode: fs.ModeSymlink | 0o777, target: outside},
			{name: "link", mode: fs.ModeDir | 0o755},
			{name: "up", mode: fs.ModeSymlink | 0o777, target: "../../.."},
			{name: "up", mode: fs.ModeDir | 0o755},
			{name: "victim", mode: fs.ModeSymlink | 0o777, target: victim},
			{name: "victim", mode: file, data: "pwned"},
		},
		"/t/link":       {{name: "x", mode: file, data: "pwned"}},
		"/t/up":         {{name: "outside", mode: fs.ModeDir | 0o755}},
		"/t/up/outside": {{name: "y", mode: file, data: "pwned"}},
		"/t/..":         {{name: "z", mode: file, data: "pwned"}},
	}}
	evil := sshtest.New(t, sshtest.Options{SFTPHandler: sshtest.SFTPHandlers(sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h})})
	key := sshtest.NewSigner(t)
	dest := filepath.Join(base, "dest")

	sum, err := Pull(context.Background(), []Node{sshNode("evil", evil, key)}, Options{Sources: []string{"/t"}, Dest: dest})
	require.NoError(t, err)
	r := sum.Nodes[0]
	require.False(t, r.OK())

	// Nothing "pwned" anywhere under base except as the replaced victim link
	// inside DEST/evil/, and the victim outside is untouched.
	require.NoError(t, filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && string(b) == "pwned" && p != filepath.Join(dest, "evil", "t", "victim") {
			t.Errorf("a hostile node wrote %s", p)
		}
		return err
	}))
	// The file listed after a link of the same name replaced the link (in
	// DEST/NODE/), never wrote through it.
	fi, err := os.Lstat(filepath.Join(dest, "evil", "t", "victim"))
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular())
	got, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "original", string(got))
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the outside directory gained entries")
	entries, err = os.ReadDir(base)
	require.NoError(t, err)
	require.Len(t, entries, 2, "base gained entries besides dest and outside")

	ok, err := os.ReadFile(filepath.Join(dest, "evil", "t", "ok"))
	require.NoError(t, err)
	require.Equal(t, "fine", string(ok))
	fi, err = os.Stat(filepath.Join(dest, "evil", "t", "suid"))
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o755), fi.Mode(), "setuid and setgid dropped")

	// Every refusal is reported. pkg/sftp's client already cuts listed
	// names to their last element ("../escape" arrives as "escape", which
	// the node then says does not exist) and drops "." and ".."; "" arrives
	// as "." and is refused by name. link/ and up/ are refused by os.Root.
	var names int
	for _, e := range r.Errors {
		require.Equal(t, "evil", e.Node)
		if _, ok := errors.AsType[*NameError](e); ok {
			names++
		}
	}
	require.Equal(t, 1, names, "%v", r.Errors)
	require.Len(t, r.Errors, 6, "%v", r.Errors) // escape twice, b, ".", link, up
}

// checkName lets through exactly the names that are one path element.
func TestCheckName(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "../x", "a/b", "/", "x/..", "nul\x00", "a\x00b"} {
		require.Error(t, checkName(bad), "%q", bad)
	}
	for _, good := range hostileNames {
		require.NoError(t, checkName(good), "%q", good)
	}
	require.NoError(t, checkName("..."))
}
