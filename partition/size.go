package partition

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps a lower-cased unit suffix to its multiplier. A bare letter
// and the IEC "iB" forms are powers of 1024 (as fpart's k, m, g, t, p); the
// SI "B" forms are powers of 1000.
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	"p": 1 << 50, "pib": 1 << 50, "pb": 1e15,
}

// SizeHelp states the rule ParseSize applies, for --help texts.
const SizeHelp = "bytes, or a number with a unit: K M G T P and KiB MiB GiB TiB PiB are powers of 1024 (10G = 10*1024^3), KB MB GB TB PB are powers of 1000 (10GB = 10*1000^3); case-insensitive"

// ParseSize parses a byte count such as "1048576", "512MiB", "10G" (10*2^30)
// or "1.5TB" (1.5*10^12). Units are case-insensitive; a bare letter and the
// "iB" forms are powers of 1024, the "B" forms powers of 1000. The result
// must be a positive whole number of bytes that fits in an int64.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("partition: size %q: want bytes or a number with a unit (K, MiB, GB, ...)", s)
	}
	if !strings.Contains(num, ".") {
		// Whole numbers are computed exactly, without a float.
		n, err := strconv.ParseInt(num, 10, 64)
		if m := int64(mult); err == nil && n > 0 && n <= math.MaxInt64/m {
			return n * m, nil
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("partition: size %q: %w", s, err)
	}
	v := f * mult
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("partition: size %q is too large", s)
	}
	if v < 1 {
		return 0, fmt.Errorf("partition: size %q must be at least one byte", s)
	}
	return int64(v), nil
}

// FormatSize renders n bytes for humans with IEC units ("1.5 GiB").
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
