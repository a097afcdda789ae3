package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveReadsHostBlocks(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ssh_config")
	require.NoError(t, os.WriteFile(cfg, []byte(`
Host node1
    HostName 127.0.0.11
    Port 2201
    User u1
    IdentityFile "/k/id one"
    UserKnownHostsFile /k/kh

Host node2
    HostName 127.0.0.12
    Port 2202
    User u2
    IdentityFile /k/id
    UserKnownHostsFile /k/kh
`), 0o644))
	nodes := filepath.Join(dir, "nodes")
	require.NoError(t, os.WriteFile(nodes, []byte("node2\n\n  node1  \n"), 0o644))

	ts, err := resolve(cfg, nodes)
	require.NoError(t, err)
	assert.Equal(t, []target{
		{alias: "node2", addr: "127.0.0.12:2202", user: "u2", key: "/k/id", knownHosts: "/k/kh"},
		{alias: "node1", addr: "127.0.0.11:2201", user: "u1", key: "/k/id one", knownHosts: "/k/kh"},
	}, ts)
}

func TestResolveNamesTheIncompleteNode(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ssh_config")
	require.NoError(t, os.WriteFile(cfg, []byte("Host node1\n    HostName 127.0.0.11\n"), 0o644))
	nodes := filepath.Join(dir, "nodes")
	require.NoError(t, os.WriteFile(nodes, []byte("node1\n"), 0o644))

	_, err := resolve(cfg, nodes)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `node "node1"`)
	assert.Contains(t, err.Error(), cfg)

	require.NoError(t, os.WriteFile(nodes, nil, 0o644))
	_, err = resolve(cfg, nodes)
	assert.ErrorContains(t, err, "no nodes")
}
