package filecopy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// A tree of hostile names, modes (setuid included), mtimes and links
// arrives identical on every SFTP node and on the local node.
func TestPushTree(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tree")
	makeTree(t, src)
	want := snapshot(t, src)
	key := sshtest.NewSigner(t)
	a := sshtest.New(t, sshtest.Options{SFTP: true})
	b := sshtest.New(t, sshtest.Options{SFTP: true})
	local := t.TempDir()
	t.Chdir(local)
	// The test servers share this process's working directory, so SFTP
	// nodes get absolute destinations; the local node a relative one.
	node := func(name string, s *sshtest.Server) Node {
		n := sshNode(name, s, key)
		return n
	}
	for _, c := range []struct {
		n    Node
		dest string
	}{{node("a", a), a.Dir + "/out/"}, {node("b", b), b.Dir + "/out/"}, {Node{Name: "local"}, "out/"}} {
		sum, err := Push(context.Background(), []Node{c.n}, Options{Sources: []string{src}, Dest: c.dest})
		require.NoError(t, err)
		r := sum.Nodes[0]
		require.True(t, r.OK(), "%s: %v", r.Node, r.Errors)
		require.Equal(t, len(hostileNames)*2+2, r.Files, r.Node)
	}
	for _, dir := range []string{a.Dir, b.Dir, local} {
		requireSameTree(t, want, snapshot(t, filepath.Join(dir, "out", "tree")))
		requireNoTemp(t, dir)
	}
	// All at once, several nodes in parallel.
	sum, err := Push(context.Background(), []Node{node("a", a), node("b", b)}, Options{Sources: []string{src}, Dest: filepath.Join(local, "par") + "/"})
	require.NoError(t, err)
	for _, r := range sum.Nodes {
		require.True(t, r.OK(), "%s: %v", r.Node, r.Errors)
	}
	requireSameTree(t, want, snapshot(t, filepath.Join(local, "par", "tree")))

	// Again onto the copies: files are replaced, directories merged.
	require.NoError(t, os.WriteFile(filepath.Join(src, "plain"), []byte("changed"), 0o600))
	want = snapshot(t, src)
	sum, err = Push(context.Background(), []Node{sshNode("a", a, key)}, Options{Sources: []string{src}, Dest: a.Dir + "/out"})
	require.NoError(t, err)
	require.Zero(t, sum.Failed(), "%v", sum.Nodes[0].Errors)
	requireSameTree(t, want, snapshot(t, filepath.Join(a.Dir, "out", "tree")))
}

// One source to a name that is not a directory is copied to that name;
// several sources go into a directory created for them.
func TestPushDestinations(t *testing.T) {
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	require.NoError(t, os.WriteFile(f1, []byte("1"), 0o644))
	require.NoError(t, os.WriteFile(f2, []byte("2"), 0o644))
	key := sshtest.NewSigner(t)
	a := sshtest.New(t, sshtest.Options{SFTP: true})

	sum, err := Push(context.Background(), []Node{sshNode("a", a, key)}, Options{Sources: []string{f1}, Dest: a.Dir + "/new/name"})
	require.NoError(t, err)
	require.Zero(t, sum.Failed(), "%v", sum.Nodes[0].Errors)
	got, err := os.ReadFile(filepath.Join(a.Dir, "new", "name"))
	require.NoError(t, err)
	require.Equal(t, "1", string(got))

	sum, err = Push(context.Background(), []Node{sshNode("a", a, key)}, Options{Sources: []string{f1, f2}, Dest: a.Dir + "/multi"})
	require.NoError(t, err)
	require.Zero(t, sum.Failed(), "%v", sum.Nodes[0].Errors)
	for _, n := range []string{"one", "two"} {
		_, err := os.Stat(filepath.Join(a.Dir, "multi", n))
		require.NoError(t, err)
	}

	// Into an existing directory: under the source's base name.
	sum, err = Push(context.Background(), []Node{sshNode("a", a, key)}, Options{Sources: []string{f2}, Dest: a.Dir + "/new"})
	require.NoError(t, err)
	require.Zero(t, sum.Failed())
	_, err = os.Stat(filepath.Join(a.Dir, "new", "two"))
	require.NoError(t, err)
}

// Bad input fails before anything is copied.
func TestPushBadInput(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(f, nil, 0o644))
	other := filepath.Join(dir, "sub", "f")
	require.NoError(t, os.MkdirAll(filepath.Dir(other), 0o755))
	require.NoError(t, os.WriteFile(other, nil, 0o644))
	for name, opts := range map[string]Options{
		"missing":   {Sources: []string{filepath.Join(dir, "nope")}, Dest: "x"},
		"collision": {Sources: []string{f, other}, Dest: "x"},
		"no dest":   {Sources: []string{f}, Dest: ""},
		"root":      {Sources: []string{"/"}, Dest: "x"},
		"inside":    {Sources: []string{filepath.Dir(other)}, Dest: filepath.Join(other, "..", "deeper") + "/"},
		"itself":    {Sources: []string{filepath.Dir(other)}, Dest: filepath.Dir(other) + "/"},
	} {
		_, err := Push(context.Background(), []Node{{Name: "local"}}, opts)
		var ie *InputError
		require.ErrorAs(t, err, &ie, name)
	}
	_, err := os.Stat(filepath.Join(dir, "sub", "deeper"))
	require.ErrorIs(t, err, os.ErrNotExist)
	// Pulling from this machine into the tree being pulled: refused too.
	_, err = Pull(context.Background(), []Node{{Name: "local"}}, Options{Sources: []string{dir}, Dest: filepath.Join(dir, "back")})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
}

// A node that cannot be reached is reported; the others are copied.
func TestPushUnreachable(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(src, []byte("x"), 0o644))
	key := sshtest.NewSigner(t)
	a := sshtest.New(t, sshtest.Options{SFTP: true})
	noSFTP := sshtest.New(t, sshtest.Options{})
	refusing := sshtest.Refusing(t).String()
	gone := Node{Name: "gone", Dial: func(ctx context.Context) (*ssh.Client, error) {
		return ssh.Dial("tcp", refusing, &ssh.ClientConfig{User: "x", HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
	}}

	sum, err := Push(context.Background(), []Node{gone, sshNode("a", a, key), sshNode("nosftp", noSFTP, key)}, Options{Sources: []string{src}, Dest: a.Dir + "/f"})
	require.NoError(t, err)
	require.Equal(t, 2, sum.Failed(), "%+v", sum.Nodes)
	require.True(t, sum.Nodes[0].Unreachable)
	require.Len(t, sum.Nodes[0].Errors, 1)
	require.Equal(t, "gone", sum.Nodes[0].Errors[0].Node)
	require.True(t, sum.Nodes[1].OK())
	require.True(t, sum.Nodes[2].Unreachable)
	require.ErrorContains(t, sum.Nodes[2].Errors[0], "sftp")
	_, err = os.Stat(filepath.Join(a.Dir, "f"))
	require.NoError(t, err)
}

// A closed Drain starts nothing and reports every node interrupted.
func TestPushDrained(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(src, []byte("x"), 0o644))
	dst := t.TempDir()
	drain := make(chan struct{})
	close(drain)
	sum, err := Push(context.Background(), []Node{{Name: "local"}}, Options{Sources: []string{src}, Dest: filepath.Join(dst, "f"), Drain: drain})
	require.NoError(t, err)
	require.True(t, sum.Interrupted)
	require.True(t, sum.Nodes[0].Interrupted)
	require.ErrorIs(t, sum.Nodes[0].Errors[0], ErrInterrupted)
	_, err = os.Stat(filepath.Join(dst, "f"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// requireNoTemp fails if a temporary file was left under dir.
func requireNoTemp(t *testing.T, dir string) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "**", ".drove-tmp-*"))
	require.NoError(t, err)
	require.Empty(t, matches)
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && len(d.Name()) > 11 && d.Name()[:11] == ".drove-tmp-" {
			t.Errorf("temporary file left: %s", p)
		}
		return err
	}))
}
