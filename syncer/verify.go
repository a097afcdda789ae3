package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// VerifyOptions says what Verify compares.
type VerifyOptions struct {
	Src, Dst string
	// Checksum compares the content of regular files too (every byte is
	// read on both sides); without it, size and modification time (to the
	// second, as rsync's quick check) are compared.
	Checksum bool
	// Excludes are the sync's exclude globs: matching entries of SRC are
	// not expected in DST.
	Excludes []string
	// Extras counts entries of DST that are not in SRC as differences
	// (after a sync with --delete); otherwise they are only counted.
	Extras bool
	// Workers compare file contents in parallel (0: 4).
	Workers int
	// MaxListed caps Report.List (0: 20).
	MaxListed int
	// Listed is how many entries the sync's crawl listed: a verify that
	// compares fewer entries of SRC than that is short (VerifyReport.Short).
	Listed int64
}

// Difference is one entry that differs.
type Difference struct {
	Path string // relative to SRC and DST
	What string // "missing in DST", "size", "mtime", "content", "type", "symlink target", "extra in DST"
}

func (d Difference) String() string { return fmt.Sprintf("%s: %s", d.Path, d.What) }

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Checked     int64        // entries of SRC compared
	Specials    int64        // devices, FIFOs and sockets of SRC, seen and not compared
	Listed      int64        // VerifyOptions.Listed
	Differences int          // entries that differ (extras only with Extras)
	Extras      int          // entries only in DST (a directory counts once)
	List        []Difference // the first MaxListed differences, sorted by path
}

// Short reports whether the verify saw fewer entries of SRC than the crawl
// listed: it did not look at everything that was copied (a failure, even
// with no difference).
func (r *VerifyReport) Short() bool { return r.Checked+r.Specials < r.Listed }

// Verify compares DST with SRC on this machine: every directory, regular
// file and symlink of SRC (devices, FIFOs and sockets are ignored) must be
// in DST with the same type; files with the same size and mtime (and
// content with Checksum), symlinks with the same target.
func Verify(ctx context.Context, o VerifyOptions) (*VerifyReport, error) {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxListed <= 0 {
		o.MaxListed = 20
	}
	// The roots are walked from the directories they name: a walk does
	// not enter a root that is a symbolic link.
	for _, d := range []*string{&o.Src, &o.Dst} {
		r, err := filepath.EvalSymlinks(*d)
		if err != nil {
			return nil, fmt.Errorf("sync: verify: %w", err)
		}
		if fi, err := os.Stat(r); err != nil {
			return nil, fmt.Errorf("sync: verify: %w", err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("sync: verify: %s is not a directory", *d)
		}
		*d = r
	}
	v := &verifier{o: o, rep: &VerifyReport{Listed: o.Listed}}
	pairs := make(chan string)
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Go(func() {
			for rel := range pairs {
				same, err := sameContent(filepath.Join(o.Src, rel), filepath.Join(o.Dst, rel))
				switch {
				case err != nil:
					v.differ(rel, "content ("+err.Error()+")")
				case !same:
					v.differ(rel, "content")
				}
			}
		})
	}
	err := filepath.WalkDir(o.Src, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			return err
		}
		rel, skip := v.rel(o.Src, p, d)
		if skip != nil || rel == "" {
			return skip
		}
		if !d.IsDir() && !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			v.mu.Lock()
			v.rep.Specials++
			v.mu.Unlock()
			return nil
		}
		v.mu.Lock()
		v.rep.Checked++
		v.mu.Unlock()
		if v.compare(rel, p, d) && d.Type().IsRegular() && o.Checksum {
			select {
			case pairs <- rel:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	close(pairs)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("sync: verify: %w", err)
	}
	err = filepath.WalkDir(o.Dst, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			return err
		}
		rel, skip := v.rel(o.Dst, p, d)
		if skip != nil || rel == "" {
			return skip
		}
		if _, err := os.Lstat(filepath.Join(o.Src, rel)); errors.Is(err, fs.ErrNotExist) {
			v.extra(rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sync: verify: %w", err)
	}
	slicesSort(v.rep.List)
	if len(v.rep.List) > o.MaxListed {
		v.rep.List = v.rep.List[:o.MaxListed]
	}
	return v.rep, nil
}

type verifier struct {
	o   VerifyOptions
	mu  sync.Mutex
	rep *VerifyReport
}

// rel returns p relative to root, or a SkipDir/nil skip for excluded
// entries ("" and nil for the root itself and for excluded files).
func (v *verifier) rel(root, p string, d fs.DirEntry) (string, error) {
	if p == root {
		return "", nil
	}
	rel, _ := filepath.Rel(root, p)
	rel = filepath.ToSlash(rel)
	for _, x := range v.o.Excludes {
		subject := d.Name()
		if strings.Contains(x, "/") {
			subject, x = rel, strings.Trim(x, "/")
		}
		if ok, _ := path.Match(x, subject); ok {
			if d.IsDir() {
				return "", filepath.SkipDir
			}
			return "", nil
		}
	}
	return rel, nil
}

// compare checks one entry of SRC against DST and reports whether they
// agree so far.
func (v *verifier) compare(rel, p string, d fs.DirEntry) bool {
	si, err := d.Info()
	if err != nil {
		v.differ(rel, "unreadable in SRC: "+err.Error())
		return false
	}
	di, err := os.Lstat(filepath.Join(v.o.Dst, rel))
	if err != nil {
		v.differ(rel, "missing in DST")
		return false
	}
	if si.Mode().Type() != di.Mode().Type() {
		v.differ(rel, "type")
		return false
	}
	switch {
	case si.Mode()&fs.ModeSymlink != 0:
		a, err1 := os.Readlink(p)
		b, err2 := os.Readlink(filepath.Join(v.o.Dst, rel))
		if err1 != nil || err2 != nil || a != b {
			v.differ(rel, "symlink target")
			return false
		}
	case si.Mode().IsRegular():
		if si.Size() != di.Size() {
			v.differ(rel, "size")
			return false
		}
		if si.ModTime().Unix() != di.ModTime().Unix() {
			v.differ(rel, "mtime")
			return false
		}
	}
	return true
}

func (v *verifier) differ(rel, what string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rep.Differences++
	v.note(Difference{Path: rel, What: what})
}

func (v *verifier) extra(rel string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rep.Extras++
	if v.o.Extras {
		v.rep.Differences++
		v.note(Difference{Path: rel, What: "extra in DST"})
	}
}

// note keeps the first MaxListed differences (by path, once sorted).
func (v *verifier) note(d Difference) {
	v.rep.List = append(v.rep.List, d)
	if len(v.rep.List) > 4*v.o.MaxListed {
		slicesSort(v.rep.List)
		v.rep.List = v.rep.List[:v.o.MaxListed]
	}
}

func slicesSort(ds []Difference) {
	slices.SortFunc(ds, func(a, b Difference) int { return strings.Compare(a.Path, b.Path) })
}

// sameContent compares two files byte for byte.
func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 256<<10), make([]byte, 256<<10)
	for {
		na, erra := io.ReadFull(fa, ba)
		nb, errb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		aEOF := errors.Is(erra, io.EOF) || errors.Is(erra, io.ErrUnexpectedEOF)
		bEOF := errors.Is(errb, io.EOF) || errors.Is(errb, io.ErrUnexpectedEOF)
		switch {
		case erra != nil && !aEOF:
			return false, erra
		case errb != nil && !bEOF:
			return false, errb
		case aEOF || bEOF:
			return aEOF && bEOF, nil
		}
	}
}
