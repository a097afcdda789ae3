//go:build unix

package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drove-dev/drove/runner"
	"github.com/stretchr/testify/require"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// blockPair is a Client and a Serve over pipes whose node ':' is this
// machine; received counts the bytes the Client read from the gateway.
func blockPair(t *testing.T, opts Options) (*Client, *atomic.Int64) {
	t.Helper()
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	connect := func(ctx context.Context, spec string, route [][]string, opts Options) (runner.Host, error) {
		return &runner.Local{Grace: time.Second}, nil
	}
	served := make(chan error, 1)
	go func() {
		err := Serve(context.Background(), gwIn, gwOut, connect)
		_ = gwOut.Close()
		served <- err
	}()
	received := new(atomic.Int64)
	cl, err := NewClient("gw1", countingReader{fromGW, received}, toGW, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = toGW.Close()
		_ = fromGW.Close()
		select {
		case err := <-served:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return after its input ended")
		}
	})
	return cl, received
}

// TestBlocksCrossOnce: with Options.Blocks, jobs printing the same output
// (several blocks and a partial one) get it whole and in order, while its
// bytes cross from the gateway once; outputs that differ, short outputs,
// an empty one and stderr arrive as they were written.
func TestBlocksCrossOnce(t *testing.T) {
	const jobs = 12
	big := 3*BlockSize + 1000 // three whole blocks and a partial one
	// The same big output, then a line of its own, written in pieces
	// that do not fall on block boundaries (dd's 10000-byte blocks).
	cmd := func(i int) string {
		return fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x | dd bs=10000 2>/dev/null; echo job %d; echo err %d >&2", big, i, i)
	}
	for _, blocks := range []bool{false, true} {
		t.Run(fmt.Sprintf("blocks=%v", blocks), func(t *testing.T) {
			cl, received := blockPair(t, Options{Blocks: blocks})
			h, err := cl.Connect(context.Background(), ":", ":")
			require.NoError(t, err)
			var wg sync.WaitGroup
			outs, errs := make([]bytes.Buffer, jobs+3), make([]bytes.Buffer, jobs+3)
			runErrs := make([]error, jobs+3)
			cmds := make([]string, jobs+3)
			for i := range jobs {
				cmds[i] = cmd(i)
			}
			cmds[jobs] = "echo short"   // one line: the block is the whole output
			cmds[jobs+1] = "true"       // no output
			cmds[jobs+2] = "echo short" // again: a short block goes as it is
			for i := range cmds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runErrs[i] = h.Run(context.Background(), cmds[i], &outs[i], &errs[i])
				}()
			}
			wg.Wait()
			want := strings.Repeat("x", big)
			for i := range jobs {
				require.NoError(t, runErrs[i])
				require.Equal(t, want+fmt.Sprintf("job %d\n", i), outs[i].String(), "job %d", i)
				require.Equal(t, fmt.Sprintf("err %d\n", i), errs[i].String())
			}
			require.Equal(t, "short\n", outs[jobs].String())
			require.Equal(t, "", outs[jobs+1].String())
			require.Equal(t, "short\n", outs[jobs+2].String())
			total := int64(jobs * big)
			if blocks {
				// Each distinct block once (three, as the first three are
				// the same, and one partial block per job).
				require.Less(t, received.Load(), int64(BlockSize+jobs*2000), "bytes received from the gateway")
			} else {
				require.Greater(t, received.Load(), total)
			}
		})
	}
}

// TestBlockReferenceUnknown: a gateway that names a block it never sent
// breaks the protocol: the Client ends the conversation (its nodes fail
// with the reason) rather than lose the job's output silently.
func TestBlockReferenceUnknown(t *testing.T) {
	gwIn, toGW := io.Pipe()
	fromGW, gwOut := io.Pipe()
	t.Cleanup(func() { _ = toGW.Close(); _ = gwOut.Close() })
	gw := newConn(gwIn, gwOut)
	go func() {
		if _, err := gw.recv(); err != nil {
			return
		}
		_ = gw.send(&frame{Kind: kindHello, Hello: &Hello{Version: Version}})
		_ = gw.send(&frame{Kind: kindBlockRef, ID: 1, Data: bytes.Repeat([]byte{7}, 32)})
		_, _ = io.Copy(io.Discard, gwIn)
	}()
	cl, err := NewClient("gw1", fromGW, toGW, Options{Blocks: true})
	require.NoError(t, err)
	select {
	case <-cl.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the client kept going after a reference to a block never sent")
	}
	require.ErrorContains(t, cl.Err(), "gateway gw1 lost: gateway: a reference to block 0707070707070707, which the gateway never sent")
}

// TestLongLinesOfTwoJobsDoNotDeadlock: two jobs through one gateway each
// print a line longer than runner.Output holds (so each takes hold of the
// Output until its line ends, as runner does): one job waiting for the
// Output must not stop the other's output, or its end, from arriving, as
// on nodes reached directly, where each job has a session of its own.
func TestLongLinesOfTwoJobsDoNotDeadlock(t *testing.T) {
	for _, blocks := range []bool{false, true} {
		t.Run(fmt.Sprintf("blocks=%v", blocks), func(t *testing.T) {
			cl, _ := blockPair(t, Options{Blocks: blocks})
			h, err := cl.Connect(context.Background(), ":", ":")
			require.NoError(t, err)
			var got bytes.Buffer
			out := runner.NewOutput(&got)
			// Each job's one line is longer than its output window, so
			// neither can end before the other's bytes move: a deadlock
			// never ends, and the deadline below only bounds the wait
			// (the lines take tens of seconds with -race on a loaded machine).
			const jobs, line = 4, window + window/4
			done := make(chan error, jobs)
			deadline := time.After(3 * time.Minute)
			for i := range jobs {
				go func() {
					w := out.Writer("")
					err := h.Run(context.Background(), fmt.Sprintf("head -c %d /dev/zero | tr '\\0' %c; echo", line, 'a'+i), w, io.Discard)
					_ = w.Close()
					done <- err
				}()
			}
			for range jobs {
				select {
				case err := <-done:
					require.NoError(t, err)
				case <-deadline:
					t.Fatal("the jobs' output deadlocked in the Client")
				}
			}
			for i := range jobs {
				require.Contains(t, got.String(), strings.Repeat(string(rune('a'+i)), line)+"\n")
			}
		})
	}
}
