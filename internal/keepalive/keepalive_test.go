package keepalive

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// pair connects a client to an in-process server on 127.0.0.1:0. The
// server hands each global request to handle.
func pair(t *testing.T, handle func(*ssh.Request)) *ssh.Client {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	sc := &ssh.ServerConfig{NoClientAuth: true}
	sc.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		a, err := l.Accept()
		if err != nil {
			return
		}
		_, chans, reqs, err := ssh.NewServerConn(a, sc)
		if err != nil {
			return
		}
		go func() {
			for c := range chans {
				_ = c.Reject(ssh.Prohibited, "no")
			}
		}()
		for r := range reqs {
			handle(r)
		}
	}()
	b, err := net.DialTimeout("tcp", l.Addr().String(), 30*time.Second)
	require.NoError(t, err)
	conn, chans, reqs, err := ssh.NewClientConn(b, l.Addr().String(), &ssh.ClientConfig{User: "u", HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second})
	require.NoError(t, err)
	c := ssh.NewClient(conn, chans, reqs)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestWatchKeepsAnAnsweringPeer: a peer that answers, even with a
// refusal, is alive; Watch returns when dead is closed, without calling
// lost.
func TestWatchKeepsAnAnsweringPeer(t *testing.T) {
	var answered atomic.Int32
	c := pair(t, func(r *ssh.Request) {
		_ = r.Reply(false, nil)
		answered.Add(1)
	})
	dead := make(chan struct{})
	returned := make(chan struct{})
	var lost atomic.Value
	go func() {
		// A keepalive every 5 ms, each with 30 s for its answer: a loaded
		// machine may take far longer than an interval to answer (a
		// window of 5 ms lost this peer under stress-ng), while a
		// refusal taken for no answer would be lost at the first one.
		Watch(c, dead, 5*time.Millisecond, 6000, func(err error) { lost.Store(err) })
		close(returned)
	}()
	require.Eventually(t, func() bool { return answered.Load() >= 5 }, time.Minute, time.Millisecond)
	close(dead)
	select {
	case <-returned:
	case <-time.After(time.Minute):
		t.Fatal("Watch did not return once dead was closed")
	}
	require.Nil(t, lost.Load(), "a peer that answered was called lost")
}

// TestWatchLosesASilentPeer: a peer that never answers is lost after
// interval*countMax, with that window in the reason.
func TestWatchLosesASilentPeer(t *testing.T) {
	c := pair(t, func(*ssh.Request) {}) // never replies
	lost := make(chan error, 1)
	go Watch(c, make(chan struct{}), 10*time.Millisecond, 3, func(err error) { lost <- err })
	select {
	case err := <-lost:
		require.True(t, strings.Contains(err.Error(), "no keepalive reply in 30ms"), err.Error())
	case <-time.After(time.Minute):
		t.Fatal("a silent peer was never called lost")
	}
	require.False(t, Ping(c, 10*time.Millisecond, nil))
}
