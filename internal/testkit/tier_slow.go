//go:build slow

package testkit

// slowTier: built with -tags slow, the full suite.
const slowTier = true
