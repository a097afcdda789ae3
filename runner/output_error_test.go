package runner

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// failAfter accepts n bytes, then fails every write (a disk that fills).
type failAfter struct {
	n   int
	got []byte
}

var errFull = errors.New("no space left on device")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(f.got)+len(p) > f.n {
		k := f.n - len(f.got)
		f.got = append(f.got, p[:k]...)
		return k, errFull
	}
	f.got = append(f.got, p...)
	return len(p), nil
}

// TestOutputKeepsFirstWriteError: the first error is told once, nothing is
// written after it (no holes), and each job whose bytes did not all reach
// the destination is counted once, even with several lines.
func TestOutputKeepsFirstWriteError(t *testing.T) {
	dst := &failAfter{n: 10}
	o := NewOutput(dst)
	var told []error
	o.OnError(func(err error) { told = append(told, err) })
	a := o.Writer("")
	_, _ = a.Write([]byte("aaaa\n")) // fits
	require.NoError(t, a.Close())
	b := o.Writer("")
	_, _ = b.Write([]byte("bbbbbbbb\nbb\n")) // cut
	_, _ = b.Write([]byte("more\n"))
	require.NoError(t, b.Close())
	c := o.Writer("")
	_, _ = c.Write([]byte("c\n")) // after the error: not written
	require.NoError(t, c.Close())

	err, lost := o.Failed()
	require.ErrorIs(t, err, errFull)
	require.Equal(t, 2, lost)
	require.Equal(t, []error{errFull}, told)
	require.Equal(t, "aaaa\nbbbbb", string(dst.got))
}

func TestOutputWithoutErrors(t *testing.T) {
	o := NewOutput(&failAfter{n: 100})
	w := o.Writer("")
	_, _ = w.Write([]byte("fine\n"))
	require.NoError(t, w.Close())
	err, lost := o.Failed()
	require.NoError(t, err)
	require.Zero(t, lost)
}
