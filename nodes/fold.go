package nodes

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Fold writes a set of host names the way pdsh, ClusterShell and Slurm
// write them: names that differ only in their last number are folded into
// one range, node01..node08 and node10 into "node[01-08,10]". Zero padding
// is kept: a number written with a leading zero only folds with numbers of
// the same width. The groups are joined with commas, in the order of their
// first name (natural order: node2 before node10); duplicates count once.
// Fold of no names is "".
func Fold(names []string) string {
	type key struct {
		prefix, suffix string
		width          int // digits of a zero-padded group, 0 when not padded
	}
	groups := map[key][]int64{}
	var plain []string
	// Padded widths seen per prefix/suffix, so that "10" joins "01"-"09".
	padded := map[[2]string]map[int]bool{}
	type parsed struct {
		prefix, digits, suffix string
	}
	var ps []parsed
	for _, n := range slices.Compact(slices.Sorted(slices.Values(names))) {
		pre, dig, suf, ok := lastNumber(n)
		if !ok || len(dig) > 18 {
			plain = append(plain, n)
			continue
		}
		ps = append(ps, parsed{pre, dig, suf})
		if len(dig) > 1 && dig[0] == '0' {
			k := [2]string{pre, suf}
			if padded[k] == nil {
				padded[k] = map[int]bool{}
			}
			padded[k][len(dig)] = true
		}
	}
	for _, p := range ps {
		v, _ := strconv.ParseInt(p.digits, 10, 64)
		w := 0
		if padded[[2]string{p.prefix, p.suffix}][len(p.digits)] {
			w = len(p.digits)
		}
		k := key{p.prefix, p.suffix, w}
		groups[k] = append(groups[k], v)
	}
	type out struct {
		first string // the group's first name, for ordering
		text  string
	}
	var outs []out
	for _, n := range plain {
		outs = append(outs, out{n, n})
	}
	for k, vs := range groups {
		slices.Sort(vs)
		vs = slices.Compact(vs)
		num := func(v int64) string {
			s := strconv.FormatInt(v, 10)
			if len(s) < k.width {
				s = strings.Repeat("0", k.width-len(s)) + s
			}
			return s
		}
		first := k.prefix + num(vs[0]) + k.suffix
		if len(vs) == 1 {
			outs = append(outs, out{first, first})
			continue
		}
		var b strings.Builder
		b.WriteString(k.prefix + "[")
		for i := 0; i < len(vs); {
			j := i
			for j+1 < len(vs) && vs[j+1] == vs[j]+1 {
				j++
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(num(vs[i]))
			if j > i {
				b.WriteString("-" + num(vs[j]))
			}
			i = j + 1
		}
		b.WriteString("]" + k.suffix)
		outs = append(outs, out{first, b.String()})
	}
	slices.SortFunc(outs, func(a, b out) int { return naturalCompare(a.first, b.first) })
	texts := make([]string, len(outs))
	for i, o := range outs {
		texts[i] = o.text
	}
	return strings.Join(texts, ",")
}

// lastNumber splits name around its last run of digits. Names holding a
// range's own characters ([ ] , -) are left alone: folding them would not
// read back as the same names.
func lastNumber(name string) (prefix, digits, suffix string, ok bool) {
	if strings.ContainsAny(name, "[],") {
		return "", "", "", false
	}
	end := -1
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] >= '0' && name[i] <= '9' {
			end = i + 1
			break
		}
	}
	if end < 0 {
		return "", "", "", false
	}
	start := end
	for start > 0 && name[start-1] >= '0' && name[start-1] <= '9' {
		start--
	}
	return name[:start], name[start:end], name[end:], true
}

// naturalCompare orders names with their digit runs compared as numbers:
// node2 < node10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			if c := cmp.Compare(da, db); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
