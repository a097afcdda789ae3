package syncer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/copytool"
	"github.com/stretchr/testify/require"
)

// killingRsync writes an "rsync" into a directory of its own that kills
// itself with SIGKILL, as a user's kill -9 would: put first on PATH, it
// stands in for the copy's rsync. The daemon side (rsyncd.sh) finds rsync
// on PATH too, but the client dies first and takes it down.
func killingRsync(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "rsync"), []byte("#!/bin/sh\nkill -9 $$\n"), 0o755))
	return bin
}

// TestKilledCopyKeepsTheLocalNode: one partition's rsync is killed (kill
// -9) on the only node, a ':' node. The node still runs every other
// partition, the killed one is retried there and copied, the final pass
// runs, and the run is OK (issue 19.7: the node was evicted and 11 of 31
// partitions never ran).
func TestKilledCopyKeepsTheLocalNode(t *testing.T) {
	needTool(t, "rsync")
	bin := killingRsync(t)
	var mu sync.Mutex
	kills := 0
	before := func(cmd string) string {
		mu.Lock()
		defer mu.Unlock()
		if kills > 0 || !strings.Contains(cmd, "part.000003") {
			return ""
		}
		kills++
		return "PATH=" + bin + ":$PATH " + cmd
	}
	res, src, dst := rsyncParts(t, 16, hookNodes(2, before, nil))
	require.Equal(t, 1, kills)
	require.Empty(t, res.Evicted)
	require.Empty(t, res.Unrun)
	require.True(t, res.OK(), "failed %+v unrun %d final %v", res.Failed, len(res.Unrun), res.FinalErr)
	require.True(t, res.FinalRan)
	rep, err := Verify(context.Background(), VerifyOptions{Src: src, Dst: dst, Checksum: true})
	require.NoError(t, err)
	require.Zero(t, rep.Differences, "%v", rep.List)
}

// TestCopyFailingEverywhereFailsAlone: a partition whose rsync is killed
// on every attempt fails for good after MaxAttempts attempts, and only
// it: the node stays, every other partition is copied, the final pass
// does not run and the run is not OK.
func TestCopyFailingEverywhereFailsAlone(t *testing.T) {
	needTool(t, "rsync")
	bin := killingRsync(t)
	var mu sync.Mutex
	kills := 0
	before := func(cmd string) string {
		if !strings.Contains(cmd, "part.000003") {
			return ""
		}
		mu.Lock()
		kills++
		mu.Unlock()
		return "PATH=" + bin + ":$PATH " + cmd
	}
	res, _, _ := rsyncParts(t, 16, hookNodes(2, before, nil))
	require.Equal(t, 3, kills)
	require.Empty(t, res.Evicted)
	require.Empty(t, res.Unrun)
	require.False(t, res.OK())
	require.Len(t, res.Failed, 1)
	require.Equal(t, 3, res.Failed[0].Part.Seq)
	require.Equal(t, res.Parts-1, res.PartsDone)
	require.False(t, res.FinalRan)
}

// TestKilledCopyKeepsARemoteNode: on a node that is not ':', a copy that
// ran and failed (its outcome line says so) costs the partition an
// attempt, not the node; a copy tool the node does not have (exit 127)
// makes the node broken, as before.
func TestKilledCopyKeepsARemoteNode(t *testing.T) {
	needTool(t, "rsync")
	for _, c := range []struct {
		name    string
		tool    string // the node's "rsync"
		evicted bool
	}{
		{"killed", "#!/bin/sh\nkill -9 $$\n", false},
		{"missing", "#!/bin/sh\nexit 127\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(bin, "rsync"), []byte(c.tool), 0o755))
			// The first partition the node "local" runs fails there; the
			// other node starts its first partition only after that, so
			// that "local" gets one.
			var mu sync.Mutex
			hit := 0
			first := make(chan struct{})
			before := func(cmd string) string {
				mu.Lock()
				defer mu.Unlock()
				if hit > 0 || !strings.Contains(cmd, "part.0") {
					return ""
				}
				hit++
				close(first)
				return "PATH=" + bin + ":$PATH " + cmd
			}
			wait := func(cmd string) string {
				if strings.Contains(cmd, "part.0") {
					select {
					case <-first:
					case <-time.After(time.Minute):
					}
				}
				return ""
			}
			nodes := hookNodes(1, before, nil)
			nodes[0].Local = false
			nodes = append(nodes, hookNodes(1, wait, nil)...)
			nodes[1].Name = "other"
			nodes[1].Local = false
			res, _, _ := rsyncParts(t, 12, nodes)
			require.Equal(t, 1, hit)
			require.True(t, res.OK(), "failed %+v unrun %d final %v", res.Failed, len(res.Unrun), res.FinalErr)
			var evicted []string
			for _, e := range res.Evicted {
				evicted = append(evicted, e.Node)
			}
			if c.evicted {
				require.Equal(t, []string{"local"}, evicted)
			} else {
				require.Empty(t, evicted)
			}
		})
	}
}

// TestToolCannotRun: the exit statuses that say a tool cannot run on a
// node at all, whatever it copies.
func TestToolCannotRun(t *testing.T) {
	for st, want := range map[int]bool{1: true, 2: true, 4: true, 126: true, 127: true, 11: false, 12: false, 20: false, 23: false, 30: false, 137: false} {
		require.Equal(t, want, toolCannotRun(copytool.Rsync, st), "rsync %d", st)
	}
	for st, want := range map[int]bool{1: false, 2: true, 3: false, 5: false, 7: false, 126: true, 127: true, 143: false} {
		require.Equal(t, want, toolCannotRun(copytool.Rclone, st), "rclone %d", st)
	}
}
