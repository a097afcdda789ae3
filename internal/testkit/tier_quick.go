//go:build !slow

package testkit

// slowTier: built without -tags slow, the quick tier.
const slowTier = false
