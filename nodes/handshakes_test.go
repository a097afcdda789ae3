package nodes

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
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
// answer waits for it: web1 logs in only after the stalled dial ended.
// Every timeout here is only setup; that the wait is not counted against
// the waiting node's ConnectTimeout is TestSlotWaitRestartsTheClock's.
func TestHandshakesInProgressAreBounded(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	env.host("web1", srv)
	env.trust(srv)
	env.hostAt("stall", fmt.Sprintf("127.0.0.1:%d", stallingListener(t)))
	d, _ := env.dialer(Options{MaxHandshakes: 1, ConnectTimeout: 30 * time.Second})

	// The stalled handshake holds the slot until the test cancels it.
	stallCtx, cancelStall := context.WithCancel(t.Context())
	defer cancelStall()
	stallErr := make(chan error, 1)
	stall := resolve(t, d, "stall")
	go func() {
		_, err := d.Dial(stallCtx, stall)
		stallErr <- err
	}()
	require.Eventually(t, func() bool { return len(d.handshaking) == 1 }, 30*time.Second, 5*time.Millisecond, "the stalled handshake to take the slot")

	var released atomic.Bool
	webErr := make(chan error, 1)
	web := resolve(t, d, "web1")
	go func() {
		c, err := d.Dial(t.Context(), web)
		if err == nil {
			c.Close()
			if !released.Load() {
				err = fmt.Errorf("web1 logged in while the only slot was held")
			}
		}
		webErr <- err
	}()
	// web1's server spoke: its handshake waits for the slot.
	require.Eventually(t, func() bool { return d.slotWaiters.Load() == 1 }, 30*time.Second, 5*time.Millisecond, "web1 to wait for the slot")
	require.Empty(t, webErr, "web1's dial ended while waiting for the slot")
	require.Equal(t, 1, srv.OpenConns(), "web1's connection is held open while it waits")

	released.Store(true)
	cancelStall()
	require.ErrorIs(t, <-stallErr, context.Canceled)
	require.NoError(t, <-webErr)
	require.Zero(t, d.slotWaiters.Load())
	require.Empty(t, d.handshaking, "every slot given back")
}

// TestSlotWaitRestartsTheClock: a dial whose first period (connect and the
// server's first bytes) ran out while it waited for a handshake slot gets a
// full ConnectTimeout from the moment it got the slot, on a connection that
// is still open. The test sets the first period short and gives the slot
// only once that period has passed, so the wait is longer than the period
// by construction, not by racing the wall clock. Only if the machine is so
// loaded that the gate itself came after the first period (the slot was
// never asked for) is the period lengthened and the dial tried again.
func TestSlotWaitRestartsTheClock(t *testing.T) {
	const timeout = 30 * time.Second
	for first := 20 * time.Millisecond; ; first *= 4 {
		require.Less(t, first, timeout, "the gate never came within the first period")
		if slotWaitRestartsTheClock(t, first, timeout) {
			return
		}
	}
}

// slotWaitRestartsTheClock runs TestSlotWaitRestartsTheClock's dial with
// the given first period; false means the gate came after it.
func slotWaitRestartsTheClock(t *testing.T, first, timeout time.Duration) bool {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	conn, err := net.DialTimeout("tcp", l.Addr().String(), timeout)
	require.NoError(t, err)
	defer conn.Close()
	peer, err := l.Accept()
	require.NoError(t, err)
	defer peer.Close()

	k := &dialClock{ctx: t.Context(), timeout: timeout}
	firstDeadline := time.Now().Add(first)
	k.start(conn, firstDeadline)
	asked := false
	var granted time.Time
	err = k.gate(func(context.Context) (func(), error) {
		asked = true
		for !time.Now().After(firstDeadline) {
			time.Sleep(time.Millisecond)
		}
		granted = time.Now()
		return func() {}, nil
	})
	if !asked {
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		_, _ = k.end()
		return false
	}
	require.NoError(t, err)
	second, ok := k.period.Deadline()
	require.True(t, ok)
	require.False(t, second.Before(granted.Add(timeout)), "the period after the slot ends %v after the slot was given, not %v", second.Sub(granted), timeout)

	// The connection is open and its deadline is the new period's: a read
	// gets the peer's bytes.
	_, err = peer.Write([]byte("x"))
	require.NoError(t, err)
	buf := make([]byte, 1)
	_, err = io.ReadFull(conn, buf)
	require.NoError(t, err, "the first period's end closed or timed out the connection")
	fired, err := k.end()
	require.False(t, fired)
	require.NoError(t, err)
	return true
}
