//go:build slow && unix

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRealSSHSyncThroughGateways: drove sync copies a tree with nodes the
// controller cannot reach, each partition run on a node behind one of two
// drove gateways (real sshd), and the copy is the tree; nothing of
// drove's is left on a gateway afterwards.
func TestRealSSHSyncThroughGateways(t *testing.T) {
	b := newGatewayBed(t, gatewayBedOptions{nodes: 4, gateways: 2})
	src, dst, work := sshdSyncDirs(t, b.c, treeOpts{dirs: 8, filesPerDir: 10, maxSize: 4096, symlinks: true, hostile: true, seed: 23})

	// Without the gateways the nodes cannot be reached: the test's
	// premise.
	r := drove(t, nil, nil, "sync", "-F", b.ctl, "-n", "node[3-4]", "--connect-timeout", "5s", "-d", work, src, dst)
	require.NotEqual(t, exitOK, r.code, r.stderr)
	require.NoDirExists(t, dst)

	r = drove(t, nil, nil, append([]string{"sync"}, b.args(true,
		"-n", "2/node[3-4]", "-f", "7", "-z", "-d", work, "--verify=checksum", src, dst)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stderr, "final pass done")
	require.Contains(t, r.stderr, "0 differences")
	requireSameTree(t, src, dst, true, true)
	journal, err := os.ReadFile(filepath.Join(work, "journal"))
	require.NoError(t, err)
	for _, n := range []string{"node3", "node4"} {
		require.Contains(t, string(journal), `"node":"`+n+`"`, "every node copied partitions")
	}
	require.NotContains(t, string(journal), `"node":"node1"`)
	b.noneLeft(t, "")
}
