package testkit

import "testing"

// Slow skips t unless the test binary was built with the slow tier
// (go test -tags slow), naming the command that runs it. A test calls it
// first when it belongs to the slow tier but shares its file with quick
// tests; a file whose tests are all slow carries the build tag instead.
// See CONTRIBUTING.md, "Tests".
func Slow(t testing.TB) {
	t.Helper()
	if !slowTier {
		t.Skip("slow tier: go test -race -tags slow")
	}
}

// SlowTier reports whether the slow tier was built in (-tags slow), for a
// test that runs a short version of itself in the quick tier.
func SlowTier() bool { return slowTier }
