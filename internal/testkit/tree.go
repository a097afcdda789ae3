package testkit

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Outside says what marks an entry as come from outside a copy's source
// tree. An empty field is not checked.
type Outside struct {
	Name    string // an entry whose name holds it
	Content string // a regular file whose contents hold it
	Target  string // a symbolic link whose target holds it
}

// FromOutside walks dst without following symbolic links and returns the
// entries marked as from outside ("PATH -> TARGET" for a symbolic link). A
// dst that does not exist holds nothing.
func FromOutside(dst string, m Outside) ([]string, error) {
	if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var out []string
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if m.Name != "" && strings.Contains(d.Name(), m.Name) {
			out = append(out, p)
			return nil
		}
		switch {
		case d.Type().IsRegular() && m.Content != "":
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(m.Content)) {
				out = append(out, p)
			}
		case d.Type()&fs.ModeSymlink != 0 && m.Target != "":
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if strings.Contains(l, m.Target) {
				out = append(out, p+" -> "+l)
			}
		}
		return nil
	})
	return out, err
}

// FailingUnshare puts an unshare that always fails first in PATH for the
// rest of the test, as on a machine that does not allow namespaces.
func FailingUnshare(t testing.TB) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "unshare"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}
