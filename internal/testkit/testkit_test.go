package testkit

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				fmt.Fprintf(&b, "%d", i)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	require.Len(t, b.String(), 800)
}

func TestWaitForReturnsOnceCondHolds(t *testing.T) {
	n := 0
	WaitFor(t, 5*time.Second, "the third call", func() bool { n++; return n == 3 })
	require.Equal(t, 3, n)
}

// fatalRecorder records a Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
}

func TestWaitForFailsAtItsDeadline(t *testing.T) {
	f := &fatalRecorder{TB: t}
	calls := 0
	// Fatalf is recorded, not fatal, so cond ends the loop itself once
	// WaitFor has given up.
	WaitFor(f, 30*time.Millisecond, "never", func() bool { calls++; return f.msg != "" })
	require.Equal(t, "timed out after 30ms waiting for never", f.msg)
	require.Greater(t, calls, 1)
}
