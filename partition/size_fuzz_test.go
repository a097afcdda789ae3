package partition

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseSize: whatever the text, ParseSize gives a positive byte count
// or an error; units are case-insensitive and white space around is
// ignored; a plain positive integer is itself, and "NK" is N*1024 while
// it fits.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "4096", "10G", "10GiB", "10GB", "1.5G", "0.5K", " 7 MiB ", "1e3", "0.1", "9999999P", "9223372036854775807", "8E", "."} {
		f.Add(s, int64(1))
	}
	f.Add("", int64(math.MaxInt64))
	f.Add("", int64(math.MaxInt64/1024))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		v, err := ParseSize(s)
		if err == nil && v < 1 {
			t.Fatalf("ParseSize(%q) = %d", s, v)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "partition: size ") {
			t.Fatalf("ParseSize(%q): error %q", s, err)
		}
		_ = FormatSize(v)
		isASCII := strings.IndexFunc(s, func(r rune) bool { return r > 127 }) < 0
		if isASCII {
			for _, variant := range []string{strings.ToUpper(s), strings.ToLower(s), " \t" + s + " "} {
				w, err2 := ParseSize(variant)
				if (err == nil) != (err2 == nil) || w != v {
					t.Fatalf("ParseSize(%q) = %d, %v but ParseSize(%q) = %d, %v", s, v, err, variant, w, err2)
				}
			}
		}
		if n < 1 {
			return
		}
		d := strconv.FormatInt(n, 10)
		if got, err := ParseSize(d); err != nil || got != n {
			t.Fatalf("ParseSize(%q) = %d, %v", d, got, err)
		}
		got, err := ParseSize(d + "K")
		switch {
		case n <= math.MaxInt64/1024 && (err != nil || got != n*1024):
			t.Fatalf("ParseSize(%qK) = %d, %v, want %d", d, got, err, n*1024)
		case n > math.MaxInt64/1024 && err == nil:
			t.Fatalf("ParseSize(%qK) = %d, want an error (too large)", d, got)
		}
	})
}
