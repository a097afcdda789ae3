package partition

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// listFile is an open partition list being written.
type listFile struct {
	part Partition
	f    *os.File
	w    *bufio.Writer
	fmt  ListFormat
	sync func(*os.File) error // nil: no fsync
}

// createList creates the list file for partition seq; it never overwrites.
// w, if not nil, is a writer to reuse (its buffer is kept).
func createList(outDir string, seq int, format ListFormat, w *bufio.Writer, sync func(*os.File) error) (*listFile, error) {
	p := filepath.Join(outDir, ListName(seq))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("partition: list: %w", err)
	}
	if w == nil {
		w = bufio.NewWriterSize(f, 64<<10)
	} else {
		w.Reset(f)
	}
	return &listFile{part: Partition{Seq: seq, ListPath: p}, f: f, w: w, fmt: format, sync: sync}, nil
}

func (l *listFile) add(e entry) error {
	if err := writeEntry(l.w, l.fmt, e.rel); err != nil {
		return fmt.Errorf("partition: list %s: %w", l.part.ListPath, err)
	}
	l.part.Files++
	l.part.Bytes += e.size
	return nil
}

// close flushes and closes the file and returns its partition; with
// Options.Sync the file and then its directory are fsync'd first.
func (l *listFile) close() (Partition, error) {
	err := l.w.Flush()
	if err == nil && l.sync != nil {
		err = l.sync(l.f)
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && l.sync != nil {
		err = syncDir(filepath.Dir(l.part.ListPath), l.sync)
	}
	if err != nil {
		return Partition{}, fmt.Errorf("partition: list %s: %w", l.part.ListPath, err)
	}
	return l.part, nil
}

// abort closes the file after an error, keeping what was written.
func (l *listFile) abort() {
	l.w.Flush()
	l.f.Close()
}

// packer fills partitions in arrival order, closing each as soon as the
// next entry would break a limit. Only the open list file is held.
type packer struct {
	opts *Options
	emit func(Partition) error
	cur  *listFile
	seq  int
	w    *bufio.Writer // reused by every list file
}

func (p *packer) add(e entry) error {
	if p.cur != nil && p.opts.MaxBytes > 0 && p.cur.part.Bytes+e.size > p.opts.MaxBytes {
		if err := p.flush(); err != nil {
			return err
		}
	}
	if p.cur == nil {
		l, err := createList(p.opts.OutDir, p.seq+1, p.opts.Format, p.w, p.opts.syncer())
		if err != nil {
			return err
		}
		p.seq++
		p.cur, p.w = l, l.w
	}
	if err := p.cur.add(e); err != nil {
		return err
	}
	full := (p.opts.MaxFiles > 0 && p.cur.part.Files >= p.opts.MaxFiles) ||
		(p.opts.MaxBytes > 0 && p.cur.part.Bytes >= p.opts.MaxBytes)
	if full {
		return p.flush()
	}
	return nil
}

// flush closes the open partition, if any, and emits it.
func (p *packer) flush() error {
	if p.cur == nil {
		return nil
	}
	l := p.cur
	p.cur = nil
	part, err := l.close()
	if err != nil {
		return err
	}
	return p.emit(part)
}

// abort drops the open partition after an error.
func (p *packer) abort() {
	if p.cur != nil {
		p.cur.abort()
		p.cur = nil
	}
}

// syncDir fsyncs directory dir with sync, so the names created in it
// survive a crash.
func syncDir(dir string, sync func(*os.File) error) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return sync(d)
}

// syncer is the fsync of list files: nil without Sync.
func (o *Options) syncer() func(*os.File) error {
	switch {
	case !o.Sync:
		return nil
	case o.fsync != nil:
		return o.fsync
	}
	return (*os.File).Sync
}
