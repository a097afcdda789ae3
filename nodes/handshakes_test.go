package nodes

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
)

// stallingListener accepts TCP connections, sends an SSH version line and
// then says nothing more: a handshake that starts and never ends.
func stallingListener(t *testing.T) (port int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			_, _ = c.Write([]byte("SSH-2.0-stall\r\n"))
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().(*net.TCPAddr).Port
}

// TestSilentServersHoldNoHandshakeSlot: with one handshake slot, dials to
// servers that accepted the connection but never spoke do not keep a
// server that answers from logging in; they are still pending after.
func TestSilentServersHoldNoHandshakeSlot(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv)
	env.trust(srv)
	const silent = 5
	for i := range silent {
		port, _ := silentListener(t)
		env.hostAt(fmt.Sprintf("hole%d", i), fmt.Sprintf("127.0.0.1:%d", port))
	}
	d, _ := env.dialer(Options{MaxHandshakes: 1, ConnectTimeout: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	holes := make(chan error, silent)
	for i := range silent {
		tg := resolve(t, d, fmt.Sprintf("hole%d", i))
		go func() {
			_, err := d.Dial(ctx, tg)
			holes <- err
		}()
	}
	c, err := dial(t, d, "web1")
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, currentUser()+":ok", run(t, c, "ok"))
	require.Empty(t, holes, "a silent dial ended before the node that answers logged in")
	cancel()
	for range silent {
		require.ErrorIs(t, <-holes, context.Canceled)
	}
}

// TestHandshakesInProgressAreBounded: with one handshake slot, a server
// that sent its version and stalls holds the slot, so a server that would
// answer waits for it; the wait does not count against the waiting node's
// ConnectTimeout: it logs in after the stalled dial times out, having
// waited longer than its own timeout.
func TestHandshakesInProgressAreBounded(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv)
	env.trust(srv)
	// The stalled node holds the slot for 2 s, four times web1's
	// ConnectTimeout.
	env.hostAt("stall", fmt.Sprintf("127.0.0.1:%d", stallingListener(t)), "ConnectTimeout 2")
	d, _ := env.dialer(Options{MaxHandshakes: 1, ConnectTimeout: 500 * time.Millisecond})

	type result struct {
		who string
		err error
	}
	res := make(chan result, 2)
	stall := resolve(t, d, "stall")
	go func() {
		_, err := d.Dial(t.Context(), stall)
		res <- result{"stall", err}
	}()
	require.Eventually(t, func() bool { return len(d.handshaking) == 1 }, 5*time.Second, 5*time.Millisecond, "the stalled handshake to take the slot")
	web := resolve(t, d, "web1")
	go func() {
		c, err := d.Dial(t.Context(), web)
		if err == nil {
			c.Close()
		}
		res <- result{"web1", err}
	}()
	first := <-res
	require.Equal(t, "stall", first.who, "web1 logged in while the only slot was held: %v", first.err)
	de := asError[*DialError](t, first.err)
	require.True(t, de.Timeout)
	second := <-res
	require.Equal(t, "web1", second.who)
	require.NoError(t, second.err, "the wait for a slot counted against web1's ConnectTimeout")
	require.Empty(t, d.handshaking, "every slot given back")
}
