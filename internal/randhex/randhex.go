// Package randhex makes random strings of hexadecimal digits: the nonces,
// marks and temporary names drove puts into commands, protocol lines and
// file names, where no other process may guess or repeat them.
package randhex

import (
	"crypto/rand"
	"encoding/hex"
)

// String returns n bytes from crypto/rand as 2n lower-case hexadecimal
// digits ([0-9a-f]).
func String(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b)
}
