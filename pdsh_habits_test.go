package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// TestCommandAsArguments: pdsh's and clush's way, "drove -w NODES CMD
// ARGS": the words are joined with spaces into one command line, as pdsh
// joins them, and each line is labelled with the node; -E keeps clstr's
// unlabelled output; flags after the first word are the command's.
func TestCommandAsArguments(t *testing.T) {
	r := drove(t, nil, nil, "-w", ":", "echo", "a", "-n", "x")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "local: a -n x\n", r.stdout)

	// The oracle: the joined words mean what they mean to sh -c.
	want, err := exec.Command("sh", "-c", strings.Join([]string{"printf", "'%s|'", "x  y", ";", "echo"}, " ")).Output()
	require.NoError(t, err)
	r = drove(t, nil, nil, "-n", ":", "printf", "'%s|'", "x  y", ";", "echo")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "local: "+string(want), r.stdout)

	r = drove(t, nil, nil, "-n", "2/:", "-E", "echo plain")
	require.Equal(t, "plain\n", r.stdout, "-E is unlabelled, once per distinct node")

	r = drove(t, nil, nil, "-n", ":", "-j", "true", "echo", "x")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "cannot be used with --on-each-node, --job or --job-file")

	// A node command named like one of drove's: a hint, not a bare error.
	r = drove(t, nil, nil, "-w", ":", "sync")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "'drove run -w NODES sync'")
	r = drove(t, nil, nil, "run", "-w", ":", "sync")
	require.Equal(t, exitOK, r.code, r.stderr)
}

// TestExcludeNodes: -x leaves nodes out of -n, -w and node files, with
// ranges and lists; leaving out every node is bad input.
func TestExcludeNodes(t *testing.T) {
	nodes := writeFile(t, "nodes.txt", ":\nweb[1-3]\n")
	r := drove(t, nil, nil, "-N", nodes, "-x", "web[1-3]", "--dry-run", "-E", "true")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "local")
	require.NotContains(t, r.stdout, "web")

	r = drove(t, nil, nil, "-N", nodes, "-x", "web[1-2]", "-x", ":", "--dry-run", "-E", "true")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "web3")
	require.NotContains(t, r.stdout, "web1")
	require.NotContains(t, r.stdout, "local")

	r = drove(t, nil, nil, "-w", ":", "-x", ":", "true")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "--exclude leaves out every node listed")

	r = drove(t, nil, nil, "-w", ":", "-x", "n[1-", "true")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "--exclude: ")
}

// droveWithGroups runs the CLI with ClusterShell group files in dir
// (groups.conf and groups.d/*.yaml).
func droveWithGroups(t *testing.T, dir string, args ...string) result {
	t.Helper()
	var out, errOut testkit.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, drain: make(chan struct{}),
		groups: hostlist.GroupFiles{Confs: []string{filepath.Join(dir, "groups.conf")}, Dirs: []string{filepath.Join(dir, "groups.d")}}}
	code := runWith(context.Background(), e, args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// TestNodeGroups: ClusterShell's @group in -n, -N lines and -x, clush's
// -g, -X and -a; a bad group file and an unknown group are bad input.
func TestNodeGroups(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "groups.d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "groups.conf"), []byte("[Main]\ndefault: racks\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "groups.d", "cluster.yaml"), []byte(`racks:
  rack1: 'web[1-3]'
  rack2: ['db1', 'db2']
  all: '@rack[1-2]'
roles:
  front: '@racks:rack1!web2'
`), 0o644))
	nodesOf := func(r result) []string {
		t.Helper()
		require.Equal(t, exitOK, r.code, r.stderr)
		var got []string
		for _, l := range strings.Split(r.stdout, "\n") {
			if name, _, ok := strings.Cut(l, "\tuser="); ok {
				got = append(got, name)
			}
		}
		return got
	}
	dry := []string{"--dry-run", "-F", "none", "-E", "true"}
	require.Equal(t, []string{"web1", "web2", "web3"}, nodesOf(droveWithGroups(t, dir, append([]string{"-n", "@rack1"}, dry...)...)))
	require.Equal(t, []string{"web1", "web3"}, nodesOf(droveWithGroups(t, dir, append([]string{"-g", "roles:front"}, dry...)...)))
	require.Equal(t, []string{"web1", "web3", "db1"}, nodesOf(droveWithGroups(t, dir, append([]string{"-a", "-x", "web2", "-X", "rack2!db1"}, dry...)...)))
	require.Equal(t, []string{"web1", "web2", "web3", "db2"}, nodesOf(droveWithGroups(t, dir, append([]string{"-w", "@rack[1-2]!db1"}, dry...)...)))
	nodes := writeFile(t, "nodes.txt", "@rack2\n")
	require.Equal(t, []string{"db1", "db2"}, nodesOf(droveWithGroups(t, dir, append([]string{"-N", nodes}, dry...)...)))

	r := droveWithGroups(t, dir, "-g", "nosuch", "true")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, `drove: --node: bad node spec "@nosuch": unknown group @nosuch in source "racks"`)

	bad := filepath.Join(dir, "groups.d", "zz-bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("broken:\n  g: [n1\n"), 0o644))
	r = droveWithGroups(t, dir, "-n", "@rack1", "true")
	require.Equal(t, exitUsage, r.code)
	require.Equal(t, "drove: --node: "+bad+":2: did not find expected ',' or ']'\n", r.stderr)
	// A bad group file does not matter to a run that names no group.
	r = droveWithGroups(t, dir, "-n", ":", "true")
	require.Equal(t, exitOK, r.code, r.stderr)
}

// TestHostFirstHabit: "drove web1 uname -r" (pdsh's and ssh's order,
// without -w) is bad input with the command line that works.
func TestHostFirstHabit(t *testing.T) {
	r := drove(t, nil, nil, "node[1-3]", "uname", "-r")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "to run 'uname -r' on node[1-3], name the nodes with -w: drove -w 'node[1-3]' uname -r\n")
	r = drove(t, nil, nil, "uname")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "to run 'uname' on each node: drove -w NODES uname\n")
	r = drove(t, nil, nil, "-w", ":")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "no jobs: give a command after the nodes ('drove -w NODES uname -r')")
}
