//go:build slow && unix

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drove-dev/drove/records"
	"github.com/stretchr/testify/require"
)

// TestRealSSHGatewayReadmitAfter: a node behind a gateway evicted for a
// failed job is probed after --readmit-after, readmitted, and runs jobs
// again, through --gateway and through a --topology of the same gateways,
// with the same lines on stderr as the same run flat (but for which
// node). The bad node fails its first job only; the other node's jobs
// wait (a minute at most) until the bad one has run a job after its
// readmission, so it must get one.
func TestRealSSHGatewayReadmitAfter(t *testing.T) {
	b := startGatewayBed(t)
	root, err := shortHostname(&env{})
	require.NoError(t, err)
	topo := writeFile(t, "topology.conf", "[routes]\n"+root+": node[1-2]\nnode[1-2]: node[3-6]\n")
	bad, good := twoSides(t)
	badAddr := b.c.Nodes[nodeIndex(bad)].Host
	failed, again := filepath.Join(b.dir, "failed"), filepath.Join(b.dir, "again")
	var js []string
	for i := range 6 {
		js = append(js, "-j", fmt.Sprintf(`case "$SSH_CONNECTION" in *" %s "*) if [ ! -e %s ]; then touch %s; exit 7; fi; touch %s;; esac; i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo job %d`,
			badAddr, failed, failed, again, again, i))
	}
	runs := map[string]result{}
	for _, how := range []string{"flat", "gateway", "topology"} {
		for _, f := range []string{failed, again} {
			_ = os.Remove(f)
		}
		var args []string
		switch how {
		case "flat":
			args = b.args(false)
		case "gateway":
			args = b.args(true)
		case "topology": // the same gateways, named by a topology file
			args = b.args(true)
			i := slices.Index(args, "--gateway")
			args[i], args[i+1] = "--topology", topo
		}
		events := filepath.Join(t.TempDir(), "events.jsonl")
		r := drove(t, nil, nil, append(args, append([]string{"--readmit-after", "2s", "--events", events, "-n", bad, "-n", good}, js...)...)...)
		require.Equal(t, exitOK, r.code, "%s: %s", how, r.stderr)
		for i := range 6 {
			require.Equal(t, 1, strings.Count(r.stdout, fmt.Sprintf("job %d\n", i)), "%s: job %d", how, i)
		}
		require.Regexp(t, `drove: evicted node `+bad+`: .*exited with status 7; requeued`, r.stderr, how)
		require.Contains(t, r.stderr, "drove: node "+bad+" passed its probe and is back in the pool", how)

		// In order: evicted, readmitted, then a job succeeded there.
		f, err := os.Open(events)
		require.NoError(t, err)
		var seen []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var ev records.EventLine
			require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
			if ev.Node != bad {
				continue
			}
			switch {
			case ev.Event == "node_evicted", ev.Event == "node_readmitted":
				seen = append(seen, ev.Event)
			case ev.Event == "job_finished" && ev.OK != nil && *ev.OK && len(seen) > 0 && seen[len(seen)-1] == "node_readmitted":
				seen = append(seen, "job succeeded")
			}
		}
		require.NoError(t, f.Close())
		require.Equal(t, []string{"node_evicted", "node_readmitted", "job succeeded"}, seen, how)
		runs[how] = r
	}
	require.Equal(t, eventLines(runs["flat"].stderr), eventLines(runs["gateway"].stderr))
	require.Equal(t, eventLines(runs["flat"].stderr), eventLines(runs["topology"].stderr))
	b.noneLeft(t, "")
}
