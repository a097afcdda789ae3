package hostlist

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzParseSpec: a spec that parses prints back (String) as text that
// parses to the same spec; a bad one is a *SpecError on one line.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"web1", "4/alice@web1:2222", ":", "3/:", "[::1]:2222", "::1", "2/bob@[fe80::1%eth0]:22", "a@b@host", "web1:0", "0/x", "-x", "[web1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			requireSpecError(t, err)
			return
		}
		again, err := ParseSpec(sp.String())
		if err != nil || again != sp {
			t.Fatalf("%q parsed as %+v, printed as %q, parsed back as %+v, %v", s, sp, sp.String(), again, err)
		}
		if sp.Slots < 1 || sp.Port < 0 || sp.Port > 65535 || sp.Host == "" {
			t.Fatalf("%q parsed as %+v", s, sp)
		}
	})
}

func requireSpecError(t *testing.T, err error) {
	t.Helper()
	var se *SpecError
	if !errors.As(err, &se) {
		t.Fatalf("error %q is not a *SpecError", err)
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error %q is not one line", err)
	}
}

// FuzzParseList: a list without ranges or commas is ParseSpec's; every
// spec in a list prints back to itself; the plain host names of a list fold
// (Fold) to text that expands back to the same set.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"node[01-64]", "gpu[1-4,7,9-10]", "rack[1-2]-n[01-16]", "4/node[01-08]", "alice@node[1-3]:2222",
		"node[01-03,05],gpu7", "[::1]:2222,[1-2].x", "n[1-010]", "n[", "a,,b", "x[1-1000][1-1000]", "n[9-10]x,n[098-101]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		specs, err := parseList(s, 10_000) // a smaller cap keeps each run fast
		if err != nil {
			requireSpecError(t, err)
			return
		}
		if len(specs) == 0 || len(specs) > 10_000 {
			t.Fatalf("%q gave %d specs", s, len(specs))
		}
		if !strings.ContainsAny(s, "[],") {
			one, err := ParseSpec(s)
			if err != nil || len(specs) != 1 || specs[0] != one {
				t.Fatalf("%q: list %+v, spec %+v, %v", s, specs, one, err)
			}
		}
		var hosts []string
		for _, sp := range specs {
			if again, err := ParseSpec(sp.String()); err != nil || again != sp {
				t.Fatalf("%q: %+v printed as %q parses back as %+v, %v", s, sp, sp.String(), again, err)
			}
			if sp.User == "" && sp.Port == 0 && !strings.Contains(sp.Host, ":") {
				hosts = append(hosts, sp.Host)
			}
		}
		if len(hosts) == 0 {
			return
		}
		folded := Fold(hosts)
		back, err := ParseList(folded)
		if err != nil {
			t.Fatalf("%q folded to %q: %v", hosts, folded, err)
		}
		var got []string
		for _, sp := range back {
			got = append(got, sp.Host)
		}
		want := slices.Compact(slices.Sorted(slices.Values(hosts)))
		got = slices.Compact(slices.Sorted(slices.Values(got)))
		if !slices.Equal(got, want) {
			t.Fatalf("%q folded to %q expands to %q", want, folded, got)
		}
	})
}

// FuzzParseFile: a node file that parses gives the specs that its specs,
// written one per line, give again; a bad one names its file and line.
func FuzzParseFile(f *testing.F) {
	for _, s := range []string{"web1\nalice@web2:2222 # c\n4/:\n\t web1\r\n[::1]:2200\n", "# only\n\n", "node[01-03,05],gpu7\n4/rack[1-2]-n[1-2]\n", "a\nb:99999\n", "x#y\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		specs, err := ParseFile(strings.NewReader(s), "nodes.txt")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "nodes.txt:") && !strings.HasPrefix(err.Error(), "nodes: nodes.txt:") {
				t.Fatalf("error %q does not name the file", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %q is not one line", err)
			}
			return
		}
		var b strings.Builder
		for _, sp := range specs {
			b.WriteString(sp.String() + "\n")
		}
		again, err := ParseFile(strings.NewReader(b.String()), "again")
		if err != nil || !slices.Equal(again, specs) {
			t.Fatalf("%q gave %+v; written back as %q it gives %+v, %v", s, specs, b.String(), again, err)
		}
	})
}
