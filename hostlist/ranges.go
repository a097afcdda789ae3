package hostlist

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxExpand bounds how many nodes one list (ParseList) or one node file
// (ParseFile) may expand to, so that a typo such as node[1-100000000]
// is an error, not a hang.
const MaxExpand = 1_000_000

// ParseList parses a comma-separated list of node specs in which host
// ranges are expanded, as pdsh, ClusterShell and Slurm write them:
//
//	node[01-64]           node01 ... node64 (zero padding kept)
//	gpu[1-4,7,9-10]       gpu1 gpu2 gpu3 gpu4 gpu7 gpu9 gpu10
//	rack[1-2]-n[01-16]    rack1-n01 ... rack1-n16 rack2-n01 ... (cartesian product)
//	4/node[01-08]         each of the 8 with 4 slots
//	alice@node[1-3]:2222  each with user alice and port 2222
//	node[01-03,05],gpu7   a Slurm node list ($SLURM_JOB_NODELIST) as given
//
// A comma inside brackets belongs to the range; a comma outside separates
// specs, each with its own K/, user@ and :port. A range is lo-hi or a
// single number; when either bound has a leading zero both must have the
// same number of digits, which is the width of every number (ClusterShell's
// rule). Brackets that hold a ':' are an IPv6 literal ([::1]:2222), not a
// range. Nodes come out in the order written, the first range varying
// slowest; a node listed twice is listed twice (Merge gives it two slots).
// Bad input, or more than MaxExpand nodes, gives a *SpecError naming the
// spec as written.
func ParseList(s string) ([]Spec, error) {
	return parseList(s, MaxExpand)
}

func parseList(s string, limit int) ([]Spec, error) {
	items, err := splitList(s)
	if err != nil {
		return nil, err
	}
	var out []Spec
	for _, item := range items {
		hosts, err := expand(item, limit-len(out))
		if err == nil && len(hosts) > limit-len(out) {
			err = fmt.Errorf("expands to more than %d nodes", MaxExpand)
		}
		if err != nil {
			return nil, &SpecError{Spec: item, Err: err}
		}
		for _, h := range hosts {
			sp, err := ParseSpec(h)
			if err != nil {
				var se *SpecError
				if errors.As(err, &se) && h != item {
					se.Err = fmt.Errorf("%q: %w", h, se.Err)
					se.Spec = item
				}
				return nil, err
			}
			out = append(out, sp)
		}
	}
	return out, nil
}

// splitList splits s at the commas outside brackets and trims each item.
func splitList(s string) ([]string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, specErr(t, "empty")
	}
	var items []string
	depth, start := 0, 0
	for i := 0; i <= len(t); i++ {
		if i < len(t) {
			switch t[i] {
			case '[':
				if depth > 0 {
					return nil, specErr(t, "'[' inside a range")
				}
				depth++
				continue
			case ']':
				if depth == 0 {
					return nil, specErr(t, "']' without '['")
				}
				depth--
				continue
			case ',':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		if depth > 0 {
			return nil, specErr(t, "missing ']'")
		}
		item := strings.TrimSpace(t[start:i])
		if item == "" {
			return nil, specErr(t, "empty item in node list")
		}
		items = append(items, item)
		start = i + 1
	}
	return items, nil
}

// ExpandHosts expands the ranges in one pattern (no commas outside
// brackets), such as "rack[1-2]-n[01-16]", into the names it stands for,
// in order. It returns an error for a malformed range or more than
// MaxExpand names.
func ExpandHosts(pattern string) ([]string, error) {
	return expand(pattern, MaxExpand)
}

// group is one bracketed range: its numbers, as text, in order.
type group struct {
	start, end int // of "[...]" in the pattern, end past ']'
	spans      []span
}

type span struct {
	lo, hi int64
	width  int // 0: no padding
}

func (g group) size() int64 {
	var n int64
	for _, s := range g.spans {
		n += s.hi - s.lo + 1
	}
	return n
}

// expand expands pattern, failing with more than limit results.
func expand(pattern string, limit int) ([]string, error) {
	var groups []group
	total := int64(1)
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '[' {
			continue
		}
		j := strings.IndexByte(pattern[i:], ']')
		if j < 0 {
			return nil, fmt.Errorf("missing ']'")
		}
		body := pattern[i+1 : i+j]
		if strings.Contains(body, ":") {
			i += j // an IPv6 literal
			continue
		}
		spans, err := parseRange(body)
		if err != nil {
			return nil, err
		}
		g := group{start: i, end: i + j + 1, spans: spans}
		total *= g.size()
		if total > int64(limit) {
			return nil, fmt.Errorf("expands to more than %d nodes", MaxExpand)
		}
		groups = append(groups, g)
		i += j
	}
	if strings.ContainsRune(pattern, ']') && strings.Count(pattern, "[") != strings.Count(pattern, "]") {
		return nil, fmt.Errorf("']' without '['")
	}
	if len(groups) == 0 {
		return []string{pattern}, nil
	}
	out := make([]string, 0, total)
	var b []byte
	var walk func(k, from int)
	walk = func(k, from int) {
		if k == len(groups) {
			out = append(out, string(append(b, pattern[from:]...)))
			return
		}
		g := groups[k]
		mark := len(b)
		b = append(b, pattern[from:g.start]...)
		pre := len(b)
		for _, s := range g.spans {
			for v := s.lo; v <= s.hi; v++ {
				b = appendNum(b[:pre], v, s.width)
				walk(k+1, g.end)
			}
		}
		b = b[:mark]
	}
	walk(0, 0)
	return out, nil
}

func appendNum(b []byte, v int64, width int) []byte {
	n := strconv.FormatInt(v, 10)
	for i := len(n); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, n...)
}

// maxDigits keeps range bounds well inside int64.
const maxDigits = 15

// parseRange parses "1-4,7,09-10" into spans.
func parseRange(body string) ([]span, error) {
	if strings.TrimSpace(body) == "" {
		return nil, fmt.Errorf("empty range %q", "["+body+"]")
	}
	var spans []span
	for _, part := range strings.Split(body, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		if !digits(lo) || !digits(hi) {
			return nil, fmt.Errorf("bad range %q in %q: want N or N-M, N and M numbers", part, "["+body+"]")
		}
		width := 0
		if padded(lo) || padded(hi) {
			if len(lo) != len(hi) {
				return nil, fmt.Errorf("bad range %q in %q: zero-padded bounds must have the same number of digits", part, "["+body+"]")
			}
			width = len(lo)
		}
		l, _ := strconv.ParseInt(lo, 10, 64)
		h, _ := strconv.ParseInt(hi, 10, 64)
		if l > h {
			return nil, fmt.Errorf("bad range %q in %q: %s is greater than %s", part, "["+body+"]", lo, hi)
		}
		spans = append(spans, span{lo: l, hi: h, width: width})
	}
	return spans, nil
}

func digits(s string) bool {
	return s != "" && len(s) <= maxDigits && strings.Trim(s, "0123456789") == ""
}

func padded(s string) bool { return len(s) > 1 && s[0] == '0' }

// Fold writes a set of host names in the short range form that ParseList
// expands back to the same set: hosts that differ only in their last
// number are folded into one range, "node[01-08,10]". Names are sorted
// (numerically within a range) and repeats dropped; a name whose number
// cannot be folded with another is written as is. The groups are joined
// with commas.
func Fold(hosts []string) string {
	type key struct {
		prefix, suffix string
		width          int // digits of a zero-padded group, 0 when natural
	}
	nums := map[key][]int64{}
	var plain []string
	keyOf := func(h string) (key, int64, bool) {
		end := len(h)
		for end > 0 && (h[end-1] < '0' || h[end-1] > '9') {
			end--
		}
		start := end
		for start > 0 && h[start-1] >= '0' && h[start-1] <= '9' {
			start--
		}
		d := h[start:end]
		if d == "" || len(d) > maxDigits || strings.ContainsAny(h, "[],") {
			return key{}, 0, false
		}
		v, _ := strconv.ParseInt(d, 10, 64)
		k := key{prefix: h[:start], suffix: h[end:]}
		if padded(d) {
			k.width = len(d)
		}
		return k, v, true
	}
	for _, h := range hosts {
		k, v, ok := keyOf(h)
		if !ok {
			plain = append(plain, h)
			continue
		}
		nums[k] = append(nums[k], v)
	}
	// A natural number as long as a padded group's width joins that group
	// ("node10" with "node01").
	for k, vs := range nums {
		if k.width != 0 {
			continue
		}
		var keep []int64
		for _, v := range vs {
			pk := key{k.prefix, k.suffix, len(strconv.FormatInt(v, 10))}
			if _, ok := nums[pk]; ok && pk.width > 1 {
				nums[pk] = append(nums[pk], v)
				continue
			}
			keep = append(keep, v)
		}
		if len(keep) == 0 {
			delete(nums, k)
		} else {
			nums[k] = keep
		}
	}
	parts := slices.Sorted(slices.Values(dedupe(plain)))
	keys := make([]key, 0, len(nums))
	for k := range nums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		if c := strings.Compare(a.suffix, b.suffix); c != 0 {
			return c
		}
		return a.width - b.width
	})
	for _, k := range keys {
		vs := dedupe(nums[k])
		slices.Sort(vs)
		if len(vs) == 1 {
			parts = append(parts, string(appendNum([]byte(k.prefix), vs[0], k.width))+k.suffix)
			continue
		}
		var b []byte
		b = append(b, k.prefix...)
		b = append(b, '[')
		for i := 0; i < len(vs); {
			j := i
			for j+1 < len(vs) && vs[j+1] == vs[j]+1 {
				j++
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = appendNum(b, vs[i], k.width)
			if j > i {
				b = append(b, '-')
				b = appendNum(b, vs[j], k.width)
			}
			i = j + 1
		}
		b = append(b, ']')
		b = append(b, k.suffix...)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, ",")
}

func dedupe[T comparable](xs []T) []T {
	seen := make(map[T]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
