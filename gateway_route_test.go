package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/drove-dev/drove/gateway"
	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/topology"
	"github.com/stretchr/testify/require"
)

// TestTopologyBadInput: a topology file drove cannot use, one without this
// machine, or --topology with --gateway, is one line and exit status 2,
// before anything runs.
func TestTopologyBadInput(t *testing.T) {
	root, err := shortHostname(&env{})
	require.NoError(t, err)
	bad := writeFile(t, "topology.conf", "[routes]\n"+root+": gw1\ngw1: "+root+"\n")
	other := writeFile(t, "other.conf", "[routes]\nadmin-elsewhere: gw1\n")
	good := writeFile(t, "good.conf", "[routes]\n"+root+": gw1\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--topology", bad}, "drove: topology " + bad + ":3: \"gw1: " + root + "\": a loop"},
		{[]string{"--topology", other}, fmt.Sprintf("drove: topology %s: this machine, %q", other, root)},
		{[]string{"--topology", good, "--gateway", "gw1"}, "drove: --topology and --gateway cannot be used together"},
		{[]string{"--topology", "/nonexistent/topology.conf"}, "drove: --topology: open /nonexistent/topology.conf"},
	} {
		r := drove(t, nil, nil, append(c.args, "-n", ":", "-j", "echo ran")...)
		require.Equal(t, exitUsage, r.code, "%v: %s", c.args, r.stderr)
		require.True(t, strings.HasPrefix(r.stderr, c.want), "%v: %s", c.args, r.stderr)
		require.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
		require.Empty(t, r.stdout)
	}
	// drove sync reads it as run does.
	src, dst := t.TempDir(), t.TempDir()
	r := drove(t, nil, nil, "sync", "--topology", bad, "-n", ":", src+"/", dst)
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.True(t, strings.HasPrefix(r.stderr, "drove: topology "+bad+":3: "), r.stderr)
}

// TestTopologyNodes: a node the tree puts below gateways is reached along
// its route; a node it does not hold, and ':', are reached as without
// --topology; each node's first gateway is the same in every run.
func TestTopologyNodes(t *testing.T) {
	top, err := topology.Parse(strings.NewReader("[routes]\nadmin: g[1-4]\ng[1-4]: h[1-2]\nh[1-2]: n[1-9]\n"), "t.conf", nil)
	require.NoError(t, err)
	tree, err := top.Tree("admin")
	require.NoError(t, err)
	via, err := newRoutedGateways(&env{}, nil, "drove", gateway.Options{})
	require.NoError(t, err)
	routes := &topologyRoutes{tree: tree, via: via}
	for _, s := range []string{"n3", "alice@n4:2222", "h1"} {
		sp, err := hostlist.ParseSpec(s)
		require.NoError(t, err)
		n, ok := routes.node(sp.Key(), sp)
		require.True(t, ok, s)
		require.Equal(t, sp.Key(), n.Name)
	}
	for _, s := range []string{"g2", "elsewhere", "admin"} {
		sp, err := hostlist.ParseSpec(s)
		require.NoError(t, err)
		_, ok := routes.node(sp.Key(), sp)
		require.False(t, ok, s)
	}
	_, ok := (*topologyRoutes)(nil).node("n1", hostlist.Spec{Host: "n1", Slots: 1})
	require.False(t, ok)

	// A node ranks the gateways of a set by rendezvous, as --gateway's
	// nodes rank theirs: the same order in every run, and the nodes'
	// first choices spread over the set.
	set := []string{"g1", "g2", "g3", "g4"}
	seen := map[string]int{}
	for i := range 400 {
		node := fmt.Sprintf("n%d", i)
		var o, pooled []string
		for _, g := range via.order(node, set) {
			o = append(o, g.spec.Key())
		}
		pool := &gatewayPool{}
		for _, name := range set {
			pool.gws = append(pool.gws, &gatewayConn{spec: hostlist.Spec{Host: name, Slots: 1}, weight: routeHash(name)})
		}
		for _, g := range pool.order(node) {
			pooled = append(pooled, g.spec.Key())
		}
		require.Equal(t, pooled, o, "not --gateway's order")
		require.ElementsMatch(t, set, o)
		seen[o[0]]++
	}
	require.Len(t, seen, 4)
	for g, k := range seen {
		require.Greater(t, k, 50, g)
	}
}

// TestTopologyGatewayStartFailsTheNode: a node whose first gateway cannot
// be started (here: nowhere to dial) fails to connect with the
// gateway's name in the error, and the next node of that gateway gets the
// same error without a second attempt.
func TestTopologyGatewayStartFailsTheNode(t *testing.T) {
	fl := &fleetFlags{SSHConfig: writeFile(t, "ssh_config", "Host *\n  Port 1\n  ConnectTimeout 5\n")}
	d, err := fl.dialer(&env{stderr: &strings.Builder{}})
	require.NoError(t, err)
	defer d.Close()
	via, err := newRoutedGateways(&env{stderr: &strings.Builder{}}, d, "drove", gateway.Options{})
	require.NoError(t, err)
	defer via.close()
	route := [][]string{{"127.0.0.1"}, {"h1"}}
	_, err = via.connect(context.Background(), "n1", hostlist.Spec{Host: "n1", Slots: 1}, route)
	require.ErrorContains(t, err, "gateway 127.0.0.1")
	_, err2 := via.connect(context.Background(), "n2", hostlist.Spec{Host: "n2", Slots: 1}, route)
	require.Equal(t, err, err2)
}

// TestTopologyDryRun: --dry-run shows each node's route (its levels'
// sets, then the gateway of each level it takes first, the one the routes
// choose), and resolves a node reached directly as without --topology.
func TestTopologyDryRun(t *testing.T) {
	root, err := shortHostname(&env{})
	require.NoError(t, err)
	topo := writeFile(t, "topology.conf", "[routes]\n"+root+": gw[1-2]\ngw[1-2]: rack[1-2]\nrack1: n[1-4]\n")
	cfg := writeFile(t, "ssh_config", "Host *\n  User someone\n")
	r := drove(t, nil, nil, "-F", cfg, "--topology", topo, "--dry-run", "-n", "n3", "-n", "bob@n4:2222", "-n", "rack2", "-n", "direct1", "-j", "true")
	require.Equal(t, exitOK, r.code, r.stderr)
	via, err := newRoutedGateways(&env{}, nil, "drove", gateway.Options{})
	require.NoError(t, err)
	first := func(node string) string { return via.order(node, []string{"gw1", "gw2"})[0].spec.Key() }
	require.Contains(t, r.stdout, "n3\tslots=1\tvia=gw[1-2] > rack1\tfirst="+first("n3")+" > rack1\t(resolved by the last gateway's ssh_config)\n")
	require.Contains(t, r.stdout, "bob@n4:2222\tslots=1\tvia=gw[1-2] > rack1\tfirst="+first("bob@n4:2222")+" > rack1\t")
	require.Contains(t, r.stdout, "rack2\tslots=1\tvia=gw[1-2]\tfirst="+first("rack2")+"\t")
	require.Contains(t, r.stdout, "direct1\tuser=someone\t")
}
