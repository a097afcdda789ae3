package nodes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// silentListener accepts TCP connections and never says anything. Each
// accepted connection is announced on accepted.
func silentListener(t *testing.T) (port int, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan struct{}, 16)
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
			select {
			case ch <- struct{}{}:
			default:
			}
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
	return l.Addr().(*net.TCPAddr).Port, ch
}

func TestDialHandshakeTimeout(t *testing.T) {
	port, _ := silentListener(t)
	d, _ := newTestDialer(t, Options{ConfigFile: "none", ConnectTimeout: 300 * time.Millisecond})
	tg := resolve(t, d, fmt.Sprintf("127.0.0.1:%d", port))

	start := time.Now()
	_, err := d.Dial(t.Context(), tg)
	elapsed := time.Since(start)
	de := asError[*DialError](t, err)
	assert.True(t, de.Timeout)
	assert.Equal(t, fmt.Sprintf("nodes: 127.0.0.1:%d: connect timeout after 300ms (127.0.0.1:%d)", port, port), err.Error())
	assert.GreaterOrEqual(t, elapsed, 250*time.Millisecond)
	assert.Less(t, elapsed, 2*time.Second, "the handshake must be bounded by ConnectTimeout")
	assert.False(t, Retryable(err), "timeouts are not retried")
}

func TestDialCancelDuringHandshake(t *testing.T) {
	port, accepted := silentListener(t)
	d, _ := newTestDialer(t, Options{ConfigFile: "none", ConnectTimeout: time.Minute})
	tg := resolve(t, d, fmt.Sprintf("127.0.0.1:%d", port))

	ctx, cancel := context.WithCancel(t.Context())
	type result struct {
		err error
		at  time.Time
	}
	res := make(chan result, 1)
	go func() {
		_, err := d.Dial(ctx, tg)
		res <- result{err, time.Now()}
	}()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the dial never connected")
	}
	cancelled := time.Now()
	cancel()
	select {
	case r := <-res:
		assert.Less(t, r.at.Sub(cancelled), time.Second)
		assert.ErrorIs(t, r.err, context.Canceled)
		de := asError[*DialError](t, r.err)
		assert.False(t, de.Timeout)
		assert.False(t, Retryable(r.err))
	case <-time.After(5 * time.Second):
		t.Fatal("Dial did not return after cancel")
	}
}

func TestDialRefused(t *testing.T) {
	port := sshtest.Refusing(t).Port
	d, _ := newTestDialer(t, Options{ConfigFile: "none"})

	start := time.Now()
	_, err := d.Dial(t.Context(), resolve(t, d, fmt.Sprintf("127.0.0.1:%d", port)))
	de := asError[*DialError](t, err)
	assert.False(t, de.Timeout)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Equal(t, fmt.Sprintf("nodes: 127.0.0.1:%d: connection refused (127.0.0.1:%d)", port, port), err.Error())
	assert.False(t, Retryable(err))
	assert.Less(t, time.Since(start), 90*time.Millisecond, "refused is not retried (first backoff is >= 50ms)")
}

// droppingProxy forwards TCP connections to target but closes the first drops
// connections at once, as sshd's MaxStartups does.
func droppingProxy(t *testing.T, target string, drops int) (port int, accepted *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted = &atomic.Int32{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if int(accepted.Add(1)) <= drops {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Go(func() { io.Copy(up, c); up.Close() })
			wg.Go(func() { io.Copy(c, up); c.Close() })
		}
	})
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().(*net.TCPAddr).Port, accepted
}

func TestDialRetriesDroppedConnections(t *testing.T) {
	srv, env := hostKeySetup(t, sshtest.Options{})
	port, accepted := droppingProxy(t, srv.Addr, 2)
	fmt.Fprintf(&env.hosts, "Host web1\n    HostName 127.0.0.1\n    Port %d\n", port)
	env.trustAt(fmt.Sprintf("127.0.0.1:%d", port), srv.Signer.PublicKey())

	d, _ := env.dialer(Options{DialAttempts: 1})
	_, err := dial(t, d, "web1")
	de := asError[*DialError](t, err)
	assert.False(t, de.Timeout)
	assert.True(t, Retryable(err), "a connection dropped before the handshake is retryable: %v", err)
	assert.Equal(t, int32(1), accepted.Load())

	d, _ = env.dialer(Options{}) // default 4 attempts
	c, err := dial(t, d, "web1")
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, int32(3), accepted.Load(), "one more drop, then success")
	assert.Equal(t, currentUser()+":ok", run(t, c, "ok"))
}

func TestRetryable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&DialError{Err: io.EOF}, true},
		{fmt.Errorf("wrapped: %w", &DialError{Err: fmt.Errorf("ssh: handshake failed: %w", io.EOF)}), true},
		{&DialError{Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, true},
		{&DialError{Err: errors.New("ssh: handshake failed: read tcp 1->2: connection reset by peer")}, true},
		{&DialError{Err: errors.New("kex_exchange_identification: Connection closed by remote host")}, true},
		{&DialError{Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, false},
		{&DialError{Err: io.EOF, Timeout: true}, false},
		{&DialError{Err: context.Canceled}, false},
		{&DialError{Err: errors.New("ssh: handshake failed: no common algorithm")}, false},
		{&AuthError{Err: io.EOF}, false},
		{&HostKeyError{Unknown: true}, false},
		{io.EOF, false},
		{nil, false},
	} {
		assert.Equal(t, tt.want, Retryable(tt.err), "%v", tt.err)
	}
}
