//go:build unix

package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// closeCounter is a runner.Host that counts its Closes.
type closeCounter struct {
	runner.Host
	closes *atomic.Int32
}

func (c closeCounter) Close() error { c.closes.Add(1); return c.Host.Close() }

// pair is a controller's Client and a gateway's Serve over pipes, with
// ':' (this machine, runner.Local) as the only node spec it connects.
type pair struct {
	cl       *Client
	served   chan error   // Serve's return
	closes   atomic.Int32 // node connections the gateway closed
	specs    chan string  // what the gateway was asked to connect
	toGW     *io.PipeWriter
	fromGW   *io.PipeReader
	gwOut    *io.PipeWriter
	opts     chan Options
	shutdown func()
}

func newPair(t *testing.T) *pair {
	t.Helper()
	p := &pair{served: make(chan error, 1), specs: make(chan string, 16), opts: make(chan Options, 16)}
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	p.toGW, p.fromGW, p.gwOut = toGW, fromGW, gwOut
	connect := func(ctx context.Context, spec string, route [][]string, opts Options) (runner.Host, error) {
		if len(route) > 0 {
			return nil, fmt.Errorf("no gateways below gw1 (asked for %v)", route)
		}
		p.specs <- spec
		p.opts <- opts
		if spec != ":" {
			return nil, fmt.Errorf("no such node %q", spec)
		}
		return closeCounter{Host: &runner.Local{Grace: time.Second}, closes: &p.closes}, nil
	}
	go func() {
		err := Serve(context.Background(), gwIn, gwOut, connect)
		_ = gwOut.Close()
		p.served <- err
	}()
	cl, err := NewClient("gw1", fromGW, toGW, Options{SSHConfig: "/etc/cfg", Grace: int64(time.Second), MaxHandshakes: 7})
	require.NoError(t, err)
	p.cl = cl
	t.Cleanup(func() { _ = toGW.Close(); _ = fromGW.Close() })
	return p
}

// TestRunThroughGateway: a job run through a gateway has the output and
// the end it has on the node itself, and the gateway gets the
// controller's options.
func TestRunThroughGateway(t *testing.T) {
	p := newPair(t)
	h, err := p.cl.Connect(context.Background(), "local", ":")
	require.NoError(t, err)
	require.Equal(t, ":", <-p.specs)
	require.Equal(t, Options{SSHConfig: "/etc/cfg", Grace: int64(time.Second), MaxHandshakes: 7}, <-p.opts)

	for _, job := range []string{
		`echo "it's $((1+2))"; echo err >&2; exit 3`,
		`printf 'no newline'`,
		`kill -TERM $$`,
		`head -c 300000 /dev/zero | tr '\0' x; echo`,
		"true\x00",
	} {
		var out, errOut, wantOut, wantErr bytes.Buffer
		err := h.Run(context.Background(), job, &out, &errOut)
		want := (&runner.Local{}).Run(context.Background(), job, &wantOut, &wantErr)
		require.Equal(t, wantOut.String(), out.String(), job)
		require.Equal(t, wantErr.String(), errOut.String(), job)
		if want == nil {
			require.NoError(t, err, job)
			continue
		}
		require.IsType(t, want, err, job)
		require.Equal(t, want.Error(), err.Error(), job)
	}

	// Many jobs at once keep their outputs apart.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			require.NoError(t, h.Run(context.Background(), fmt.Sprintf("for j in 1 2 3; do echo %d.$j; done", i), &out, io.Discard))
			require.Equal(t, fmt.Sprintf("%d.1\n%d.2\n%d.3\n", i, i, i), out.String())
		}()
	}
	wg.Wait()

	_, err = p.cl.Connect(context.Background(), "nosuch", "nosuch")
	require.EqualError(t, err, `via gateway gw1: no such node "nosuch"`)
}

// running reports whether a process whose command line holds mark runs.
func running(t *testing.T, mark string) bool {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", mark).Output()
	return strings.TrimSpace(string(out)) != ""
}

// TestCancelKillsOnTheNode: a cancelled job (a timeout, Ctrl-C) is killed
// on the node, and its Run returns.
func TestCancelKillsOnTheNode(t *testing.T) {
	p := newPair(t)
	h, err := p.cl.Connect(context.Background(), "local", ":")
	require.NoError(t, err)
	mark := fmt.Sprintf("gwcancel%d", time.Now().UnixNano())
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx, "touch "+dir+"/up; sleep 300 # "+mark, io.Discard, io.Discard) }()
	testkit.WaitFor(t, 20*time.Second, "the job to start", func() bool { _, err := os.Stat(dir + "/up"); return err == nil })
	require.True(t, running(t, mark))
	cancel()
	select {
	case <-ran:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	testkit.WaitFor(t, 20*time.Second, "the job to be killed", func() bool { return !running(t, mark) })
}

// TestControllerGoneKillsEverything: when the controller's session ends
// (drove killed, the link cut), the gateway kills every job it runs,
// closes every node connection, and Serve returns.
func TestControllerGoneKillsEverything(t *testing.T) {
	p := newPair(t)
	h, err := p.cl.Connect(context.Background(), "local", ":")
	require.NoError(t, err)
	_, err = p.cl.Connect(context.Background(), "local2", ":")
	require.NoError(t, err)
	mark := fmt.Sprintf("gwgone%d", time.Now().UnixNano())
	dir := t.TempDir()
	ran := make(chan error, 1)
	go func() {
		ran <- h.Run(context.Background(), "touch "+dir+"/up; sleep 300 # "+mark, io.Discard, io.Discard)
	}()
	testkit.WaitFor(t, 20*time.Second, "the job to start", func() bool { _, err := os.Stat(dir + "/up"); return err == nil })

	require.NoError(t, p.toGW.Close()) // the controller is gone
	select {
	case err := <-p.served:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return when the controller went away")
	}
	testkit.WaitFor(t, 20*time.Second, "the job to be killed with its controller gone", func() bool { return !running(t, mark) })
	require.Equal(t, int32(2), p.closes.Load(), "every node connection closed")

	<-ran // (what it says does not matter: its controller is gone)
}

// TestGatewayGoneFailsItsNodes: a gateway that dies (its output ends)
// fails its running jobs and later connects as node errors, so the
// scheduler requeues them.
func TestGatewayGoneFailsItsNodes(t *testing.T) {
	p := newPair(t)
	h, err := p.cl.Connect(context.Background(), "local", ":")
	require.NoError(t, err)
	dir := t.TempDir()
	ran := make(chan error, 1)
	go func() { ran <- h.Run(context.Background(), "touch "+dir+"/up; sleep 300", io.Discard, io.Discard) }()
	testkit.WaitFor(t, 20*time.Second, "the job to start", func() bool { _, err := os.Stat(dir + "/up"); return err == nil })
	require.NoError(t, p.gwOut.CloseWithError(errors.New("connection reset")))
	err = <-ran
	var ne *runner.NodeError
	require.True(t, errors.As(err, &ne), "%v", err)
	<-p.cl.Done()
	err = h.Run(context.Background(), "true", io.Discard, io.Discard)
	require.True(t, errors.As(err, &ne), "%v", err)
	_, err = p.cl.Connect(context.Background(), "x", ":")
	require.ErrorContains(t, err, "gateway gw1 lost: gateway: receive: connection reset")
	_ = p.toGW.Close()
	<-p.served
}

// TestVersionMismatch: a controller and a gateway of different protocol
// versions refuse each other with a VersionError.
func TestVersionMismatch(t *testing.T) {
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- Serve(context.Background(), gwIn, gwOut, nil)
		_ = gwOut.Close()
	}()
	c := newConn(fromGW, toGW)
	go func() { _, _ = io.Copy(io.Discard, fromGW) }()
	require.NoError(t, c.send(&frame{Kind: kindHello, Hello: &Hello{Version: "drove-gateway/0"}}))
	var ve *VersionError
	require.ErrorAs(t, <-served, &ve)
	require.Equal(t, "drove-gateway/0", ve.Got)
}
