//go:build slow && linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// TestRealSSHTopologyGatewayKilled: through a topology file of two levels
// with two gateways at each (node1-2, then node3-4; node5-8 reachable only
// from the second level, which only the first reaches), a gateway of one
// level is lost while every node runs a job: a level-2 gateway killed
// (SIGKILL, every drove gateway on its machine), a level-2 gateway cut
// (its sshd sessions stopped: keepalives and heartbeats go unanswered),
// then a level-1 gateway killed, each in a run of its own. Each time the
// jobs that ran through it are requeued, the nodes that had it first
// finish jobs through the other gateway of the same level, every job
// completes exactly once, no node is evicted, the cut gateway kills its
// jobs and exits on its own, and nothing of drove's is left on a node or
// a gateway afterwards.
func TestRealSSHTopologyGatewayKilled(t *testing.T) {
	// The controller reaches node1 and node2 only (port 1 refuses).
	bed := newGatewayBed(t, gatewayBedOptions{nodes: 8, gateways: 2})
	c, bin, ctl := bed.c, bed.bin, bed.ctl
	root, err := shortHostname(&env{})
	require.NoError(t, err)
	onLevel1 := fmt.Sprintf(`echo " $SSH_CONNECTION " | grep -Eq " (%s) "`, regexp.QuoteMeta(c.Nodes[0].Host)+"|"+regexp.QuoteMeta(c.Nodes[1].Host))
	gwCfg := treeGatewayConfig(t, c, "Match host node5,node6,node7,node8 exec '"+onLevel1+"'", "    Port 1")
	topo := writeFile(t, "topology.conf", "[routes]\n"+root+": node[1-2]\nnode[1-2]: node[3-4]\nnode[3-4]: node[5-8]\n")
	nodeOf := func(name string) *sshdtest.Node {
		for _, n := range c.Nodes {
			if n.Name == name {
				return n
			}
		}
		t.Fatalf("no node %s", name)
		return nil
	}
	targets := []string{"node5", "node6", "node7", "node8"}

	for _, level := range []struct {
		name string
		set  []string // the level's gateways
		cut  bool     // stopped, not killed
	}{
		{"level 2 killed", []string{"node3", "node4"}, false},
		{"level 2 cut", []string{"node3", "node4"}, true},
		{"level 1 killed", []string{"node1", "node2"}, false},
	} {
		// The killed gateway is node5's first choice at that level.
		pool := routeTestPool(t, level.set...)
		killed := pool.order("node5")[0].spec.Key()
		var theirs []string
		for _, n := range targets {
			if pool.order(n)[0].spec.Key() == killed {
				theirs = append(theirs, n)
			}
		}

		mark := marker(t)
		dir := bed.sharedDir(t, "ran-"+strings.ReplaceAll(level.name, " ", ""))
		events := filepath.Join(t.TempDir(), "events.jsonl")
		args := []string{"-F", ctl, "--topology", topo, "--gateway-binary", bin, "--gateway-ssh-config", gwCfg,
			"--connect-timeout", "120s", "--keepalive", "2s", "--grace", "1s", "--max-attempts", "3", "--events", events, "-n", "node[5-8]"}
		// A job lasts long enough that none running at the loss can
		// complete before the loss reaches it: a cut gateway kills its
		// jobs once it has heard nothing for its window (6 s here).
		const njobs = 8
		sleep := 15
		if level.cut {
			sleep = 25
		}
		for i := range njobs {
			args = append(args, "-j", fmt.Sprintf("echo start >> %s/%d; sleep %d; echo done >> %s/%d; echo job %d # %s", dir, i, sleep, dir, i, i, mark))
		}
		done := make(chan result, 1)
		go func() { done <- drove(t, nil, nil, args...) }()
		testkit.WaitFor(t, 120*time.Second, level.name+": a job on every node", func() bool {
			ents, _ := os.ReadDir(dir)
			return len(ents) >= len(targets)
		})
		var procs []gatewayProc
		testkit.WaitFor(t, 30*time.Second, level.name+": the gateway's processes", func() bool {
			procs = gatewayProcs(t, nodeOf(killed))
			return len(procs) > 0 && !slices.ContainsFunc(procs, func(p gatewayProc) bool { return p.sshd == 0 })
		})
		killedAt := time.Now()
		for _, p := range procs {
			if level.cut {
				require.NoError(t, syscall.Kill(p.sshd, syscall.SIGSTOP))
				t.Cleanup(func() { _ = syscall.Kill(p.sshd, syscall.SIGCONT) })
			} else {
				require.NoError(t, syscall.Kill(p.pid, syscall.SIGKILL))
			}
		}

		var r result
		select {
		case r = <-done:
		case <-time.After(300 * time.Second):
			t.Fatalf("%s: the run did not end", level.name)
		}
		require.Equal(t, exitOK, r.code, "%s: %s", level.name, r.stderr)
		require.NotContains(t, r.stderr, "evicted", level.name)
		require.NotContains(t, r.stderr, "no gateway left", level.name)
		// The only loss said is the killed gateway's (the others' end
		// with the run is none).
		for _, line := range strings.Split(r.stderr, "\n") {
			if strings.Contains(line, " lost: ") {
				require.Contains(t, line, "gateway "+killed+" lost: ", "%s: %s", level.name, r.stderr)
			}
		}
		for i := range njobs {
			b, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(i)))
			require.NoError(t, err)
			require.Equal(t, 1, strings.Count(string(b), "done"), "%s: job %d: %q", level.name, i, b)
			require.Equal(t, 1, strings.Count(r.stdout, fmt.Sprintf("job %d\n", i)), "%s: job %d", level.name, i)
		}

		// Jobs were requeued for the loss, after the kill; afterwards the
		// nodes that had the killed gateway first still ran jobs.
		var lost time.Time
		after := map[string]bool{}
		for _, ev := range readEvents(t, events) {
			switch {
			case ev.Event == "node_evicted":
				t.Errorf("%s: node %s evicted: %s", level.name, ev.Node, ev.Error)
			case ev.Event == "job_finished" && ev.Requeued && strings.Contains(ev.Error, "gateway "+killed+" lost"):
				if lost.IsZero() {
					lost = ev.Time
				}
			case ev.Event == "job_finished" && ev.OK != nil && *ev.OK && !lost.IsZero():
				after[ev.Node] = true
			}
		}
		require.False(t, lost.IsZero(), "%s: no job requeued from %s:\n%s", level.name, killed, r.stderr)
		require.True(t, lost.After(killedAt), "%s: requeued before the kill", level.name)
		// Within the loss's window (3 missed keepalives of 2 s, one
		// interval to the first, one tick of the heartbeat's watch; at
		// once for a kill) and a margin for a loaded machine.
		const window, margin = 2 * time.Second * (3 + 2), 20 * time.Second
		t.Logf("%s: requeued %s after the loss", level.name, lost.Sub(killedAt))
		require.Less(t, lost.Sub(killedAt), window+margin, "%s: the loss took longer than its window", level.name)
		for _, n := range theirs {
			require.True(t, after[n], "%s: node %s (first %s) ran nothing after the loss:\n%s", level.name, n, killed, r.stderr)
		}

		if level.cut {
			// Its sshd still stopped, the cut gateway heard nothing from
			// the gateway above: it killed its jobs and exited.
			for _, p := range procs {
				testkit.WaitFor(t, 60*time.Second, level.name+": the cut gateway to exit on its own", func() bool { return !alive(p.pid) })
			}
			testkit.WaitFor(t, 30*time.Second, level.name+": no job left", func() bool {
				out, _ := exec.Command("pgrep", "-f", mark).Output()
				return strings.TrimSpace(string(out)) == ""
			})
			for _, p := range procs {
				require.NoError(t, syscall.Kill(p.sshd, syscall.SIGCONT))
			}
		}
		testkit.WaitFor(t, 60*time.Second, level.name+": no job or gateway left", func() bool {
			out, _ := exec.Command("pgrep", "-f", mark).Output()
			return strings.TrimSpace(string(out)) == "" && len(clusterGateways(c)) == 0
		})
	}
}
