package main

import (
	"github.com/drove-dev/drove/gateway"
	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/nodes"
)

// gatewayFlags reach the nodes through drove gateways. They are shared by
// the commands that run work on nodes (run, sync) and copy (whose SFTP the
// gateways relay, gateway_copy.go), and mean the same in each.
type gatewayFlags struct {
	Gateway          []string `sep:"none" placeholder:"SPEC" help:"Reach the nodes through these drove gateways (a node list, @groups included): drove starts itself on each gateway over SSH (sending its own binary, checked by SHA-256, into ~/.cache/drove/ there when missing) and each node but ':' is reached from one of them, so the gateways, not this machine, pay for the nodes' connections. Every other flag means the same. Repeatable."`
	GatewayBinary    string   `placeholder:"FILE" help:"The drove binary to send to gateways that lack it (default: this drove), e.g. one built for the gateways' OS and architecture."`
	GatewaySSHConfig string   `name:"gateway-ssh-config" placeholder:"FILE" help:"The ssh_config file, on the gateways, with which they reach the nodes (default: their user's own)."`
	Topology         string   `placeholder:"FILE" help:"Reach the nodes along the routes of FILE, a ClusterShell topology.conf (ClusterShell's is /etc/clustershell/topology.conf; drove reads none unless given): the tree is rooted at this machine's short host name, which must be in it; a node below gateways is reached through them (drove starts itself on the first level's gateways, and each of those on the next level's), any other node directly. Not with --gateway."`
}

// useGateways makes fl reach its nodes through the gateways named, if
// any, which d reaches. The caller closes what it returns (nil without --gateway) when the
// run ends: each gateway then kills what it still runs and exits.
func (g *gatewayFlags) useGateways(e *env, fl *fleetFlags, d *nodes.Dialer) (*gatewayPool, error) {
	if len(g.Gateway) == 0 {
		return nil, nil
	}
	var specs []hostlist.Spec
	for _, s := range g.Gateway {
		sp, err := fl.nodeGroups(e).ParseList(s)
		if err != nil {
			return nil, usageErrorf("--gateway: %v", err)
		}
		specs = append(specs, sp...)
	}
	pool, err := newGatewayPool(e, d, specs, g.GatewayBinary, gateway.Options{SSHConfig: g.GatewaySSHConfig, AcceptNew: fl.AcceptNew,
		ConnectTimeout: int64(fl.ConnTimeout), Keepalive: int64(fl.Keepalive), Grace: int64(fl.Grace), MaxHandshakes: fl.MaxHandshakes})
	if err != nil {
		return nil, err
	}
	fl.gw = pool
	return pool, nil
}
