package syncer

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzOutcomeParser: whatever else a job's stdout holds, and however it
// arrives in pieces, an outcome line with the run's nonce is read, and
// nothing without the nonce is.
func FuzzOutcomeParser(f *testing.F) {
	f.Add([]byte("Welcome\n"), []byte("bye"), uint8(3))
	f.Add([]byte("no newline"), []byte("drove-outcome 0123 exit 23\n"), uint8(1))
	f.Add([]byte("drove-outcome n0 unconfined"), []byte{}, uint8(7))
	f.Fuzz(func(t *testing.T, before, after []byte, chunk uint8) {
		const nonce = "4f2a9c"
		if bytes.Contains(before, []byte(nonce)) || bytes.Contains(after, []byte(nonce)) {
			t.Skip()
		}
		write := func(p *outcomeParser, data []byte) {
			n := int(chunk)%16 + 1
			for len(data) > 0 {
				k := min(n, len(data))
				_, _ = p.Write(data[:k])
				data = data[k:]
			}
		}
		p := newOutcomeParser(nonce)
		write(p, append(append([]byte{}, before...), after...))
		require.Equal(t, outcome{}, p.outcome, "no outcome line, yet one was read")

		p = newOutcomeParser(nonce)
		var in []byte
		in = append(in, before...)
		in = append(in, "\ndrove-outcome "+nonce+" exit 24\n"...)
		in = append(in, after...)
		in = append(in, "\ndrove-outcome "+nonce+" unconfined\n"...)
		in = append(in, "drove-outcome "+nonce+" id 1001 100\n"...)
		write(p, in)
		require.Equal(t, outcome{Exit: 24, Unconfined: true, ID: true, UID: 1001, GID: 100}, p.outcome)
	})
}
