//go:build slow && unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// copyBed is a bed for drove copy through gateways (a gatewayBed of six
// nodes): node1 and node2 are gateways; node3..node6 are reachable from
// this machine with c's own ssh_config (flat) but not with ctl's (only
// through the gateways). Each of node3..node6 starts its SFTP sessions in
// a directory of its own (ForceCommand internal-sftp -d), so that what one
// node got can be told from another's on this one machine: a relative
// DEST lands in dirs[i]. Its methods through and flat take the command
// first; they shadow the gatewayBed's fields of those names.
type copyBed struct {
	*gatewayBed
	dirs map[string]string // node name -> its SFTP start directory
}

func startCopyBed(t *testing.T) *copyBed {
	t.Helper()
	base, err := os.MkdirTemp("", "drove-copygw-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	require.NoError(t, os.Chmod(base, 0o755))
	b := &copyBed{dirs: map[string]string{}}
	for i := 3; i <= 6; i++ {
		b.dirs[fmt.Sprintf("node%d", i)] = filepath.Join(base, fmt.Sprintf("node%d", i))
	}
	b.gatewayBed = newGatewayBed(t, gatewayBedOptions{nodes: 6, gateways: 2, flags: []string{"--connect-timeout", "120s"},
		nodeConfig: func(i int) []string {
			if i < 2 {
				return nil
			}
			return []string{"Match all", "    ForceCommand internal-sftp -d " + b.dirs[fmt.Sprintf("node%d", i+1)]}
		}})
	for _, d := range b.dirs {
		require.NoError(t, os.Mkdir(d, 0o755))
		require.NoError(t, os.Chown(d, b.c.UID, b.c.GID))
	}
	return b
}

// through is the command cmd (copy, rcopy) through node1 and node2, with
// args.
func (b *copyBed) through(cmd string, args ...string) []string {
	return append([]string{cmd}, b.args(true, args...)...)
}

// flat is the command cmd reaching the nodes directly, with args.
func (b *copyBed) flat(cmd string, args ...string) []string {
	return append([]string{cmd}, b.args(false, args...)...)
}

// TestRealSSHCopyThroughGateways: drove copy and rcopy through two drove
// gateways (real sshd, --gateway, then a two-level --topology) to nodes
// this machine cannot reach give what the same commands give flat to the
// same nodes reached directly: the same files, modes, mtimes and links,
// the same per-node report and exit status, for a success and for a
// failure; and nothing of drove's is left on the gateways.
func TestRealSSHCopyThroughGateways(t *testing.T) {
	b := startCopyBed(t)
	src := filepath.Join(t.TempDir(), "tree")
	copyTree(t, src, true, true)
	require.NoError(t, os.Chmod(filepath.Dir(src), 0o755))
	want := treeState(t, src)

	// The bed's premise: without the gateways, ctl reaches none.
	r := drove(t, nil, nil, "copy", "-F", b.ctl, "-n", "node[3-6]", src, "none/")
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "4 of 4 nodes failed")

	rf := drove(t, nil, nil, append(b.flat("copy", "-v", "-n", "node[3-6]"), src, "flat/")...)
	require.Equal(t, exitOK, rf.code, rf.stderr)
	report := sortedLines(rf.stderr)
	rg := drove(t, nil, nil, append(b.through("copy", "-v", "-n", "node[3-6]"), src, "gw/")...)
	require.Equal(t, exitOK, rg.code, rg.stderr)
	require.Equal(t, sortedLines(rf.stderr), sortedLines(rg.stderr), "the per-node report")
	require.Equal(t, 4, strings.Count(rg.stderr, "\n"), rg.stderr)
	for n, d := range b.dirs {
		require.Equal(t, want, treeState(t, filepath.Join(d, "flat", "tree")), "%s flat", n)
		require.Equal(t, want, treeState(t, filepath.Join(d, "gw", "tree")), "%s through the gateways", n)
		ents, err := os.ReadDir(filepath.Join(d, "gw"))
		require.NoError(t, err)
		require.Len(t, ents, 1, "%s: no temporary file left", n)
	}

	// Gathered back (rcopy), into DEST/NODE/.
	backF, backG := t.TempDir(), t.TempDir()
	rf = drove(t, nil, nil, append(b.flat("rcopy", "-v", "-n", "node[3-6]"), "flat/tree", backF)...)
	require.Equal(t, exitOK, rf.code, rf.stderr)
	rg = drove(t, nil, nil, append(b.through("rcopy", "-v", "-n", "node[3-6]"), "gw/tree", backG)...)
	require.Equal(t, exitOK, rg.code, rg.stderr)
	require.Equal(t, sortedLines(rf.stderr), sortedLines(rg.stderr), "the per-node report")
	for n := range b.dirs {
		require.Equal(t, want, treeState(t, filepath.Join(backG, n, "tree")), n)
		require.Equal(t, want, treeState(t, filepath.Join(backF, n, "tree")), n)
	}

	// A failure on every node: the same lines and status.
	rf = drove(t, nil, nil, append(b.flat("rcopy", "-n", "node[3-6]"), "missing", t.TempDir())...)
	rg = drove(t, nil, nil, append(b.through("rcopy", "-n", "node[3-6]"), "missing", t.TempDir())...)
	require.Equal(t, exitFailed, rf.code, rf.stderr)
	require.Equal(t, rf.code, rg.code, rg.stderr)
	require.Equal(t, sortedLines(rf.stderr), sortedLines(rg.stderr))
	require.Contains(t, rg.stderr, "drove: copy: 4 of 4 nodes failed")

	// Two levels (--topology): node1 reaches only node2, which reaches
	// the nodes (node1's gateway cannot: its sessions come in on node1's
	// address, and its ssh_config sends them to port 1 then).
	root, err := shortHostname(&env{})
	require.NoError(t, err)
	onNode1 := fmt.Sprintf(`echo " $SSH_CONNECTION " | grep -q " %s "`, regexp.QuoteMeta(b.c.Nodes[0].Host))
	treeCfg := treeGatewayConfig(t, b.c, "Match host node3,node4,node5,node6 exec '"+onNode1+"'", "    Port 1")
	topo := writeFile(t, "topology.conf", "[routes]\n"+root+": node1\nnode1: node2\nnode2: node[3-6]\n")
	rt := drove(t, nil, nil, "copy", "-F", b.ctl, "--topology", topo, "--gateway-binary", b.bin, "--gateway-ssh-config", treeCfg,
		"--connect-timeout", "120s", "-v", "-n", "node[3-6]", src, "topo/")
	require.Equal(t, exitOK, rt.code, rt.stderr)
	require.Equal(t, report, sortedLines(rt.stderr), "the per-node report")
	for n, d := range b.dirs {
		require.Equal(t, want, treeState(t, filepath.Join(d, "topo", "tree")), "%s through two levels", n)
	}
	// Premise of the two levels: node1's gateway alone does not reach them.
	one := writeFile(t, "one.conf", "[routes]\n"+root+": node1\nnode1: node[3-6]\n")
	r = drove(t, nil, nil, "copy", "-F", b.ctl, "--topology", one, "--gateway-binary", b.bin, "--gateway-ssh-config", treeCfg,
		"--connect-timeout", "120s", "-n", "node[3-6]", src, "one/")
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "refused", r.stderr)

	testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })
}

// bigFile writes a file of size MiB whose every MiB differs, for copies
// long enough to be caught mid-way.
func bigFile(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	p := filepath.Join(dir, "big")
	f, err := os.Create(p)
	require.NoError(t, err)
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	for i := range size {
		chunk[0], chunk[1] = byte(i), byte(i>>8)
		_, err = f.Write(chunk)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	return p
}

// copying reports whether every node of dirs has a temporary file with
// data under sub: each is mid-copy.
func copying(dirs map[string]string, sub string) bool {
	for _, d := range dirs {
		tmps, _ := filepath.Glob(filepath.Join(d, sub, ".drove-tmp-*"))
		has := false
		for _, p := range tmps {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
				has = true
			}
		}
		if !has {
			return false
		}
	}
	return true
}

// signalAll sends sig to every pid.
func signalAll(t *testing.T, sig string, pids []string) {
	t.Helper()
	for _, pid := range pids {
		_ = exec.Command("kill", "-"+sig, pid).Run()
	}
}

// TestRealSSHCopyGatewayKilled: a gateway killed mid-copy has the copies
// of its nodes that were under way redone through the other gateway, in
// the same run: each such node is said once on stderr (the node, the lost
// gateway, the next route), every node ends with the whole file under its
// real name and no temporary file, exit 0, and no gateway is left. A node
// that dies mid-copy behind a gateway is not redone: it is reported as the
// same node dying reached directly.
func TestRealSSHCopyGatewayKilled(t *testing.T) {
	b := startCopyBed(t)
	big := bigFile(t, 64)
	wantBig, err := os.ReadFile(big)
	require.NoError(t, err)

	done := make(chan result, 1)
	go func() { done <- drove(t, nil, nil, append(b.through("copy", "-n", "node[3-6]"), big, "k/")...) }()
	// Stop both gateways once every node has part of its file (a bound,
	// not a wait: the copy of 4 x 64 MiB takes seconds), kill one, let
	// the other go on.
	m := b.killOneMidCopy(t, "k", done, b.dirs)
	r := <-done
	t.Logf("stderr:\n%s", r.stderr)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireRedoneOnce(t, r.stderr, m.killed, "through gateway "+m.other)
	b.requireCopied(t, "k", wantBig)
	testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })

	// A node dying mid-copy: node5 reached directly, node6 through the
	// gateways, each killed once its file is on its way; the two reports
	// say the same but for the node's name.
	dies := func(node string, args []string) string {
		d := map[string]string{node: b.dirs[node]}
		done := make(chan result, 1)
		go func() { done <- drove(t, nil, nil, append(args, "-n", node, big, "d/")...) }()
		testkit.WaitFor(t, 120*time.Second, node+" mid-copy", func() bool {
			select {
			case r := <-done:
				t.Fatalf("the copy to %s ended before it was caught (exit %d): %s", node, r.code, r.stderr)
			default:
			}
			return copying(d, "d")
		})
		i := int(node[len(node)-1] - '1')
		b.c.Nodes[i].Freeze(t)
		b.c.Nodes[i].Kill(t)
		r := <-done
		require.Equal(t, exitFailed, r.code, r.stderr)
		_, err := os.Stat(filepath.Join(b.dirs[node], "d", "big"))
		require.ErrorIs(t, err, os.ErrNotExist, "%s: a half-written file under the real name", node)
		return strings.ReplaceAll(r.stderr, node, "NODE")
	}
	flat := dies("node5", b.flat("copy"))
	through := dies("node6", b.through("copy"))
	t.Logf("flat:\n%s\nthrough the gateways:\n%s", flat, through)
	require.Equal(t, sortedLines(flat), sortedLines(through))
	testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })
}

// manyFiles writes n files of sizeMiB MiB each, every MiB different, into
// a directory and returns it.
func manyFiles(t *testing.T, n, sizeMiB int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "many")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%02d", i)))
		require.NoError(t, err)
		for j := range sizeMiB {
			chunk[0], chunk[1] = byte(i), byte(j)
			_, err = f.Write(chunk)
			require.NoError(t, err)
		}
		require.NoError(t, f.Close())
	}
	return dir
}

// TestRealSSHCopyStalledNodeThroughGateway: a node frozen mid-copy (its
// sshd stopped: the gateway's SSH connection to it fills, past what the
// node's SFTP requests of 16 files in flight keep outstanding) behind the
// same gateway as another node holds up only its own copy: the other
// node's copy completes meanwhile; killed, the frozen node is reported as
// lost and the copy exits 1.
func TestRealSSHCopyStalledNodeThroughGateway(t *testing.T) {
	b := startCopyBed(t)
	src := manyFiles(t, 32, 4)
	want := treeState(t, src)
	// One gateway for both nodes; keepalives far longer than the test, so
	// that only the kill below ends the frozen node.
	args := []string{"copy", "-F", b.ctl, "--gateway", "node1", "--gateway-binary", b.bin, "--gateway-ssh-config", b.gwCfg,
		"--connect-timeout", "120s", "--keepalive", "60s", "-n", "node3", "-n", "node4", src, "s/"}
	done := make(chan result, 1)
	go func() { done <- drove(t, nil, nil, args...) }()
	both := map[string]string{"node3": b.dirs["node3"], "node4": b.dirs["node4"]}
	testkit.WaitFor(t, 120*time.Second, "both nodes mid-copy", func() bool {
		select {
		case r := <-done:
			t.Fatalf("the copy ended before both nodes were caught mid-copy (exit %d): %s", r.code, r.stderr)
		default:
		}
		return copying(both, "s/many")
	})
	b.c.Nodes[2].Freeze(t) // node3
	ents, _ := os.ReadDir(filepath.Join(b.dirs["node4"], "s", "many"))
	require.Less(t, len(ents), 32, "node4 was done before node3 froze: nothing shown")
	testkit.WaitFor(t, 120*time.Second, "node4's copy to complete while node3 is frozen", func() bool {
		for i := range 32 {
			name := fmt.Sprintf("f%02d", i)
			w, _ := os.ReadFile(filepath.Join(src, name))
			got, err := os.ReadFile(filepath.Join(b.dirs["node4"], "s", "many", name))
			if err != nil || !bytes.Equal(w, got) {
				return false
			}
		}
		return true
	})
	select {
	case r := <-done:
		t.Fatalf("the copy ended while node3 was frozen (exit %d): %s", r.code, r.stderr)
	default:
	}
	b.c.Nodes[2].Kill(t)
	var r result
	select {
	case r = <-done:
	case <-time.After(120 * time.Second):
		t.Fatal("the copy did not end once the frozen node was killed")
	}
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "drove: copy: node3: connection lost\n")
	require.NotContains(t, r.stderr, "node4")
	require.Contains(t, r.stderr, "drove: copy: 1 of 2 nodes failed")
	require.Equal(t, want, treeState(t, filepath.Join(b.dirs["node4"], "s", "many")), "node4's tree")
	testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })
}

// TestRealSSHCopyInterruptedThroughGateways: Ctrl-C through gateways as
// flat: the first lets each node finish the file it is writing and starts
// no other (exit 130, every file under its real name whole), the second
// closes the streams at once (no file under its real name half-written);
// and no gateway is left either way.
func TestRealSSHCopyInterruptedThroughGateways(t *testing.T) {
	b := startCopyBed(t)
	src := manyFiles(t, 32, 4)
	for _, second := range []bool{false, true} {
		sub := fmt.Sprintf("i%v", second)
		drain := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan result, 1)
		go func() { done <- droveCtx(ctx, nil, drain, b.through("copy", "-n", "node[3-6]", src, sub+"/")...) }()
		testkit.WaitFor(t, 120*time.Second, "every node mid-copy", func() bool {
			select {
			case r := <-done:
				t.Fatalf("the copy ended before every node was caught mid-copy (exit %d): %s", r.code, r.stderr)
			default:
			}
			return copying(b.dirs, sub+"/many")
		})
		close(drain)
		if second {
			cancel()
		}
		var r result
		select {
		case r = <-done:
		case <-time.After(120 * time.Second):
			t.Fatal("the interrupted copy did not end")
		}
		cancel()
		require.Equal(t, exitInterrupted, r.code, r.stderr)
		require.Contains(t, r.stderr, "drove: copy: interrupted: ")
		for n, d := range b.dirs {
			ents, err := os.ReadDir(filepath.Join(d, sub, "many"))
			require.NoError(t, err, n)
			whole := 0
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".drove-tmp-") {
					continue
				}
				w, err := os.ReadFile(filepath.Join(src, e.Name()))
				require.NoError(t, err)
				got, err := os.ReadFile(filepath.Join(d, sub, "many", e.Name()))
				require.NoError(t, err)
				require.True(t, bytes.Equal(w, got), "%s: %s is not whole", n, e.Name())
				whole++
			}
			require.Less(t, whole, 32, "%s: the interrupt stopped nothing", n)
		}
		testkit.WaitFor(t, 30*time.Second, "no gateway left", func() bool { return len(clusterGateways(b.c)) == 0 })
	}
}

// gatewayNames are the names of the gateway whose sessions come in on
// address addr and of the other one.
func (b *copyBed) gatewayNames(t *testing.T, addr string) (string, string) {
	t.Helper()
	for i, n := range b.c.Nodes[:2] {
		if n.Host == addr {
			return fmt.Sprintf("node%d", i+1), fmt.Sprintf("node%d", 2-i)
		}
	}
	t.Fatalf("no gateway has the address %s", addr)
	return "", ""
}

// requireCopied checks that every node has want, and nothing else, in
// its directory sub: the file "big" whole under its real name and no
// temporary file.
func (b *copyBed) requireCopied(t *testing.T, sub string, want []byte) {
	t.Helper()
	for n, d := range b.dirs {
		got, err := os.ReadFile(filepath.Join(d, sub, "big"))
		require.NoError(t, err, n)
		require.True(t, bytes.Equal(want, got), "%s: the file differs", n)
		ents, err := os.ReadDir(filepath.Join(d, sub))
		require.NoError(t, err, n)
		require.Len(t, ents, 1, "%s: a temporary file left: %v", n, ents)
	}
}
