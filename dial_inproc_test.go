//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
)

// holdingListeners listens on n loopback addresses (127.0.2.1, ...) that
// accept connections and never speak; it returns the addresses.
func holdingListeners(t *testing.T, n int) []string {
	t.Helper()
	var mu sync.Mutex
	var held []net.Conn
	var wg sync.WaitGroup
	var addrs []string
	for i := range n {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.%d.%d:0", 2+i/250, 1+i%250))
		require.NoError(t, err)
		addrs = append(addrs, l.Addr().String())
		t.Cleanup(func() { l.Close() })
		wg.Go(func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		})
	}
	t.Cleanup(func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	return addrs
}

// TestInProcessSSHGoodNodeNotQueuedBehindDeadOnes: 300 nodes that accept
// TCP and never speak SSH, listed before the one node that works, do not
// delay it: its job starts before any of them gives up (drove dialled 128
// nodes at a time in list order, so the good node waited for the first
// ones' connect timeouts).
func TestInProcessSSHGoodNodeNotQueuedBehindDeadOnes(t *testing.T) {
	f := sshtest.NewFleet(t, 1, sshtest.Options{})
	cfg, err := os.ReadFile(f.SSHConfig)
	require.NoError(t, err)
	conf := filepath.Join(t.TempDir(), "ssh_config")
	require.NoError(t, os.WriteFile(conf, append(cfg, "Host 127.*\n  ConnectTimeout 600\nHost node1\n  ConnectTimeout 300\n"...), 0o600))
	var args []string
	for _, a := range holdingListeners(t, 300) {
		args = append(args, "-n", a)
	}
	events := filepath.Join(t.TempDir(), "events")
	args = append(args, "-n", "node1", "-F", conf, "--events", events, "-j", "echo ran")
	r := drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "ran\n", r.stdout)

	ef, err := os.Open(events)
	require.NoError(t, err)
	defer ef.Close()
	var order []string
	sc := bufio.NewScanner(ef)
	for sc.Scan() {
		var e struct{ Event, Node string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		if e.Event == "job_started" || e.Event == "node_refused" {
			order = append(order, e.Event+" "+e.Node)
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, order)
	require.Equal(t, "job_started node1", order[0], "a dead node gave up before the good node's job started: %v", order[:min(len(order), 3)])
}
