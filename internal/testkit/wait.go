package testkit

import (
	"testing"
	"time"
)

// WaitFor calls cond every 10ms, in the test's own goroutine, until it
// holds, and fails the test naming what it waited for once within has
// passed. Unlike require.Eventually, cond may itself call t.Fatal or
// require: it is not run in a goroutine of its own.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
