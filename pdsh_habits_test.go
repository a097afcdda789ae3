package main

import (
	"os/exec"
	"strings"
	"testing"

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
