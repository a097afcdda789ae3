package syncer

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzReadJournal feeds arbitrary bytes to the journal reader, as a crash,
// a full disk or a hand edit could leave them. It must never panic; when
// it accepts a journal, the file is left ending on a whole line (a torn
// last record cut off), every partition it reports has positive numbers
// and was created by a record, and reading the same file again gives the
// same state. Seeds in testdata/fuzz/FuzzReadJournal.
func FuzzReadJournal(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), journalName)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fh, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		st, err := readJournal(fh, p)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "sync: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		left, _ := os.ReadFile(p)
		if len(left) > 0 && left[len(left)-1] != '\n' {
			t.Fatalf("accepted journal left without a final newline: %q", left)
		}
		if !bytes.HasPrefix(data, left) {
			t.Fatalf("the reader changed more than the torn tail")
		}
		if len(st.order) != len(st.parts) {
			t.Fatalf("order %d, parts %d", len(st.order), len(st.parts))
		}
		for _, k := range st.order {
			pt := st.parts[k]
			if pt == nil || pt.Crawl < 1 || pt.Seq < 1 || pt.Files < 0 || pt.Bytes < 0 || k != (partKey{pt.Crawl, pt.Seq}) {
				t.Fatalf("bad partition %v: %+v", k, pt)
			}
		}
		if st.run < 1 {
			t.Fatalf("run %d", st.run)
		}
		st2, err := readJournal(fh, p)
		if err != nil {
			t.Fatalf("accepted once, refused the second time: %v", err)
		}
		if !reflect.DeepEqual(st, st2) {
			t.Fatalf("a second read differs")
		}
	})
}
