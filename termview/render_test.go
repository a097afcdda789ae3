package termview

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestRenderFitsAndDropsTheBarFirst: at every width the line fits; the bar
// shows only when the whole line fits with it, the percentage is kept as
// long as there is room for it, and a cut text ends in "...".
func TestRenderFitsAndDropsTheBarFirst(t *testing.T) {
	st := Status{Text: "110 of 556 jobs complete, 176 of 176 nodes running jobs.", Done: 110, Total: 556}
	full := render(st, 1000, 0)
	if full != st.Text+"  19% [###.................]" {
		t.Fatalf("full line %q", full)
	}
	for w := 0; w <= len(full)+2; w++ {
		got := render(st, w, 0)
		if columns(got) > w {
			t.Fatalf("width %d: %q is %d columns", w, got, columns(got))
		}
		switch {
		case w >= len(full):
			if got != full {
				t.Fatalf("width %d: %q, want the full line", w, got)
			}
		case w >= len(st.Text)+5:
			if got != st.Text+"  19%" {
				t.Fatalf("width %d: %q, want the bar dropped", w, got)
			}
		case w > 5+3:
			if !strings.HasSuffix(got, "...  19%") || !strings.HasPrefix(st.Text, strings.TrimSuffix(got, "...  19%")) {
				t.Fatalf("width %d: %q, want the text cut before the percentage", w, got)
			}
		}
	}
	if got := render(Status{Text: "3 of 5+ jobs"}, 80, 0); got != "3 of 5+ jobs" {
		t.Fatalf("no total, no percentage: %q", got)
	}
}

// TestRenderIsOneLineOfPrintables: control characters (a newline, an
// escape) never reach the terminal from the status text, and a wide
// character is counted as two columns.
func TestRenderIsOneLineOfPrintables(t *testing.T) {
	got := render(Status{Text: "a\nb\x1b[2Jc\rd\x00"}, 80, 0)
	if got != "a?b?[2Jc?d?" {
		t.Fatalf("%q", got)
	}
	got = render(Status{Text: strings.Repeat("界", 10)}, 9, 0)
	if columns(got) > 9 || got != "界界界..." {
		t.Fatalf("%q (%d columns)", got, columns(got))
	}
	if got := render(Status{Text: "crawling", Spin: true}, 80, 1); got != "/ crawling" {
		t.Fatalf("spinner %q", got)
	}
}

// FuzzRender: whatever the text, figures and width, the line fits the
// width and holds no control character.
func FuzzRender(f *testing.F) {
	f.Add("110 of 556 jobs complete", int64(110), int64(556), 79, false)
	f.Add("a\nb\x1b[K\xff\xfe", int64(-5), int64(3), 3, true)
	f.Add("界界界界", int64(9), int64(3), 1, false)
	f.Add("8 EiB", int64(math.MaxInt64-1), int64(math.MaxInt64), 200, false)
	f.Fuzz(func(t *testing.T, text string, done, total int64, width int, spin bool) {
		if width > 1000 || width < -5 {
			return
		}
		got := render(Status{Text: text, Done: done, Total: total, Spin: spin}, width, 3)
		if columns(got) > max(width, 0) {
			t.Fatalf("width %d: %q is %d columns", width, got, columns(got))
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || r == utf8.RuneError || r >= 0x80 && r < 0xa0 {
				t.Fatalf("control character %U in %q", r, got)
			}
		}
	})
}

// TestRenderHugeTotals: byte counts near the int64 limit give a sane
// percentage and bar (done*100 would overflow).
func TestRenderHugeTotals(t *testing.T) {
	got := render(Status{Text: "x", Done: math.MaxInt64 / 2, Total: math.MaxInt64}, 80, 0)
	if got != "x  50% [##########..........]" {
		t.Fatalf("%q", got)
	}
}
