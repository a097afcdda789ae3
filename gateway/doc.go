// Package gateway runs a node's jobs through a drove gateway: a drove
// started on another machine ("drove gateway") that holds the SSH
// connections to a share of the fleet, so that their key exchanges and
// sockets cost the gateway, not the controller.
//
// The controller and a gateway speak a framed protocol over the standard
// input and output of one SSH session (protocol.go): the controller asks
// for connections to nodes and runs jobs on them; the gateway streams each
// job's output back and reports how it ended. On the controller, a node
// behind a gateway is a runner.Host like any other (client.go), so the
// scheduler's rules (eviction, requeue, --max-attempts, timeouts, Ctrl-C,
// the job log, --gather) are the same through a gateway by construction.
// With Options.Blocks (blocks.go), a job's stdout crosses as blocks by
// hash, so identical outputs cross the controller's session once per
// gateway.
// On the gateway, Serve (server.go) runs each request on a runner.Host the
// caller's Connector makes. When the controller goes away (the session's
// input ends), the gateway kills every job it runs and closes every node
// connection, so nothing of drove's is left on a node.
//
// Nothing listens on a port: the gateway is started over SSH and talks on
// that session alone. Getting drove onto a gateway is install.go's.
package gateway
