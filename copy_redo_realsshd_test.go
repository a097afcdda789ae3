//go:build slow && unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// drove copy redone through a node's next route when its gateway is lost
// mid-copy (copy_redo.go), on real sshd: the copyBed of
// copy_gateway_realsshd_test.go (node1 and node2 the gateways, node3..node6
// behind them, each with an SFTP start directory of its own).

// midCopy is a copy under way and the gateway killed under it.
type midCopy struct {
	killed, other string              // the killed gateway's name, the other's
	otherPid      string              // the other gateway's process
	before        map[string][]string // each node's temporary files when the gateway was killed
}

// killOneMidCopy waits until every node of b has part of its file under
// sub (the copy done will end is under way) and both gateways run, then
// stops both, kills one and lets the other go on.
func (b *copyBed) killOneMidCopy(t *testing.T, sub string, done <-chan result, dirs map[string]string) midCopy {
	t.Helper()
	var gws map[string]string
	testkit.WaitFor(t, 120*time.Second, "every node mid-copy", func() bool {
		select {
		case r := <-done:
			t.Fatalf("the copy ended before every node was caught mid-copy (exit %d): %s", r.code, r.stderr)
		default:
		}
		if !copying(dirs, sub) {
			return false
		}
		gws = clusterGateways(b.c)
		return len(gws) == 2
	})
	var pids []string
	for pid := range gws {
		pids = append(pids, pid)
	}
	signalAll(t, "STOP", pids)
	m := midCopy{otherPid: pids[1], before: tempsUnder(dirs, sub)}
	m.killed, m.other = b.gatewayNames(t, gws[pids[0]])
	signalAll(t, "KILL", pids[:1])
	signalAll(t, "CONT", pids[1:])
	return m
}

// tempsUnder is each node's temporary files under sub of its directory.
func tempsUnder(dirs map[string]string, sub string) map[string][]string {
	out := map[string][]string{}
	for n, d := range dirs {
		out[n], _ = filepath.Glob(filepath.Join(d, sub, ".drove-tmp-*"))
	}
	return out
}

// redoing is a node whose copy was redone and is under way again: it has
// a temporary file with data that it did not have in before ("" for none).
func redoing(dirs map[string]string, sub string, before map[string][]string) string {
	for n, tmps := range tempsUnder(dirs, sub) {
		for _, p := range tmps {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 0 && !slices.Contains(before[n], p) {
				return n
			}
		}
	}
	return ""
}

// waitRedoing waits until a node's redone copy is under way, and returns it.
func waitRedoing(t *testing.T, dirs map[string]string, sub string, m midCopy, done <-chan result) string {
	t.Helper()
	node := ""
	testkit.WaitFor(t, 120*time.Second, "a node's redone copy under way", func() bool {
		select {
		case r := <-done:
			t.Fatalf("the copy ended before a redo was caught under way (exit %d): %s", r.code, r.stderr)
		default:
		}
		node = redoing(dirs, sub, m.before)
		return node != ""
	})
	return node
}

// TestRealSSHCopyRedoneThroughTopology: under --topology, a level of two
// gateways one of which is killed mid-copy: its nodes' copies are redone
// through the other, pushed (drove copy) and gathered (drove rcopy), each
// said once, exit 0, every node's file whole and no temporary file on the
// nodes or here; the level's two gateways killed mid-copy: the nodes under
// way fail, each naming both gateways' loss (a topology's node is not
// tried directly), exit 1.
func TestRealSSHCopyRedoneThroughTopology(t *testing.T) {
	b := startCopyBed(t)
	big := bigFile(t, 64)
	wantBig, err := os.ReadFile(big)
	require.NoError(t, err)
	root, err := shortHostname(&env{})
	require.NoError(t, err)
	topo := writeFile(t, "topology.conf", "[routes]\n"+root+": node[1-2]\nnode[1-2]: node[3-6]\n")
	via := func(cmd string, args ...string) []string {
		return append([]string{cmd, "-F", b.ctl, "--topology", topo, "--gateway-binary", b.bin, "--gateway-ssh-config", b.gwCfg,
			"--connect-timeout", "120s", "-n", "node[3-6]"}, args...)
	}

	done := goDrove(t, via("copy", big, "t/")...)
	m := b.killOneMidCopy(t, "t", done, b.dirs)
	r := waitRun(t, done, 300*time.Second)
	t.Logf("copy, stderr:\n%s", r.stderr)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireRedoneOnce(t, r.stderr, m.killed, "through gateway "+m.other)
	b.requireCopied(t, "t", wantBig)
	testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })

	// Gathered back, a gateway killed mid-way: every node's file here.
	back := t.TempDir()
	local := map[string]string{}
	for n := range b.dirs {
		local[n] = filepath.Join(back, n)
	}
	done = goDrove(t, via("rcopy", "t/big", back)...)
	m = b.killOneMidCopy(t, "", done, local)
	r = waitRun(t, done, 300*time.Second)
	t.Logf("rcopy, stderr:\n%s", r.stderr)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireRedoneOnce(t, r.stderr, m.killed, "through gateway "+m.other)
	for n, d := range local {
		got, err := os.ReadFile(filepath.Join(d, "big"))
		require.NoError(t, err, n)
		require.True(t, bytes.Equal(wantBig, got), "%s: the gathered file differs", n)
		ents, err := os.ReadDir(d)
		require.NoError(t, err)
		require.Len(t, ents, 1, "%s: a temporary file left here: %v", n, ents)
	}
	testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })

	// The level's both gateways killed mid-copy: no gateway left there.
	done = goDrove(t, via("copy", big, "n/")...)
	m = b.killOneMidCopy(t, "n", done, b.dirs)
	signalAll(t, "KILL", []string{m.otherPid})
	r = waitRun(t, done, 300*time.Second)
	t.Logf("copy, both killed, stderr:\n%s", r.stderr)
	require.Equal(t, exitFailed, r.code, r.stderr)
	failed := regexp.MustCompile(`(?m)^drove: copy: (node\d): no gateway left \((.*)\)$`).FindAllStringSubmatch(r.stderr, -1)
	require.Len(t, failed, 4, "every node under way fails, named")
	for _, f := range failed {
		require.Contains(t, f[2], "gateway node1 lost: ", f[0])
		require.Contains(t, f[2], "gateway node2 lost: ", f[0])
		_, err := os.Stat(filepath.Join(b.dirs[f[1]], "n", "big"))
		require.ErrorIs(t, err, os.ErrNotExist, "%s: a half-written file under the real name", f[1])
	}
	require.NotContains(t, r.stderr, "directly")
	require.Contains(t, r.stderr, "drove: copy: 4 of 4 nodes failed")
	testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })
}

// requireRedoneOnce checks that stderr says at least one node's copy was
// redone for gateway gw's loss, by route, each node once, and no other
// redo.
func requireRedoneOnce(t *testing.T, stderr, gw, route string) {
	t.Helper()
	redone := regexp.MustCompile(`(?m)^drove: copy: (node\d): gateway `+gw+` lost: .*: copying again `+route+`$`).FindAllStringSubmatch(stderr, -1)
	require.NotEmpty(t, redone, "no node's copy redone %s", route)
	seen := map[string]bool{}
	for _, m := range redone {
		require.False(t, seen[m[1]], "%s redone twice", m[1])
		seen[m[1]] = true
	}
	require.Equal(t, len(redone), strings.Count(stderr, "copying again"), "a redo of another gateway's loss")
	require.NotContains(t, stderr, "failed")
}

// TestRealSSHCopyRedoAttacks: a gateway killed, then the other one while
// a node's copy is being redone through it: the nodes under way are
// redone directly (the controller reaches them too here), exit 0, every
// file whole, no temporary file; a node killed while its copy is being
// redone fails on its own (connection lost), not redone again, the others
// complete, exit 1; Ctrl-C while a copy is being redone: the redone copy
// finishes its file and the run stops, exit 130, no file half-written
// under its real name, no gateway left.
func TestRealSSHCopyRedoAttacks(t *testing.T) {
	b := startCopyBed(t)
	big := bigFile(t, 64)
	wantBig, err := os.ReadFile(big)
	require.NoError(t, err)

	// Both gateways killed in a row; the nodes reachable directly.
	direct := []string{"copy", "-F", b.c.SSHConfig, "--gateway", "node[1-2]", "--gateway-binary", b.bin, "--gateway-ssh-config", b.gwCfg,
		"--connect-timeout", "120s", "-n", "node[3-6]", big, "a/"}
	done := goDrove(t, direct...)
	m := b.killOneMidCopy(t, "a", done, b.dirs)
	waitRedoing(t, b.dirs, "a", m, done)
	signalAll(t, "KILL", []string{m.otherPid})
	r := waitRun(t, done, 300*time.Second)
	t.Logf("killed twice, stderr:\n%s", r.stderr)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `(?m)^drove: copy: node\d: gateway `+m.killed+` lost: .*: copying again through gateway `+m.other+`$`, r.stderr)
	require.Regexp(t, `(?m)^drove: copy: node\d: gateway `+m.other+` lost: .*: copying again directly$`, r.stderr)
	require.NotContains(t, r.stderr, "failed")
	b.requireCopied(t, "a", wantBig)
	testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })

	// Ctrl-C (the first) while a copy is being redone.
	drain := make(chan struct{})
	interrupted := make(chan result, 1)
	go func() {
		interrupted <- drove(t, nil, drain, append(b.through("copy", "-n", "node[3-6]"), big, "c/")...)
	}()
	done = interrupted
	m = b.killOneMidCopy(t, "c", done, b.dirs)
	waitRedoing(t, b.dirs, "c", m, done)
	close(drain)
	r = waitRun(t, done, 300*time.Second)
	t.Logf("Ctrl-C, stderr:\n%s", r.stderr)
	require.Equal(t, exitInterrupted, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: copy: interrupted: ")
	for n, d := range b.dirs {
		got, err := os.ReadFile(filepath.Join(d, "c", "big"))
		if err == nil {
			require.True(t, bytes.Equal(wantBig, got), "%s: a half-written file under the real name", n)
		}
	}
	testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })

	// A node killed while its copy is being redone (the last test: the
	// node stays dead).
	done = goDrove(t, append(b.through("copy", "-n", "node[3-6]"), big, "d/")...)
	m = b.killOneMidCopy(t, "d", done, b.dirs)
	dead := waitRedoing(t, b.dirs, "d", m, done)
	i := int(dead[len(dead)-1] - '1')
	b.c.Nodes[i].Freeze(t)
	b.c.Nodes[i].Kill(t)
	r = waitRun(t, done, 300*time.Second)
	t.Logf("a node killed under its redo (%s), stderr:\n%s", dead, r.stderr)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Equal(t, 1, strings.Count(r.stderr, "drove: copy: "+dead+": gateway "), "%s redone once", dead)
	require.Contains(t, r.stderr, "drove: copy: "+dead+": connection lost\n")
	require.Contains(t, r.stderr, "drove: copy: 1 of 4 nodes failed")
	_, err = os.Stat(filepath.Join(b.dirs[dead], "d", "big"))
	require.ErrorIs(t, err, os.ErrNotExist, "%s: a half-written file under the real name", dead)
	for n, d := range b.dirs {
		if n == dead {
			continue
		}
		got, err := os.ReadFile(filepath.Join(d, "d", "big"))
		require.NoError(t, err, n)
		require.True(t, bytes.Equal(wantBig, got), "%s: the file differs", n)
	}
	testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })
}
