package syncer

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"strings"

	"github.com/drove-dev/drove/copytool"
)

// A local node (drove's ':') sees SRC and DST as drove does, as drove's
// own user. On such a node drove makes keep.sh's check itself, in its own
// process, right before the node starts the copy: when the check would
// keep nothing (every entry it looks at is absent from DST or of the same
// type there, below directories of DST), the node runs the copy without
// keep.sh, whose output would have been the list as it is (or no exclude
// pattern); otherwise, or when drove cannot tell, the node runs the job as
// it is, keep.sh included, which keeps and reports what it must. The
// outcome is keep.sh's by construction: the same lstat of the same paths,
// at the same moment (before the copy starts), with the same reading of
// the list; what the shell spent on it per path is what is saved.

// localJob is how drove runs a copy job on a local node.
type localJob struct {
	part *Part // the partition; nil for the final pass
	k    keep
}

// noteLocal records job text cmd, which runs keep check k before copying
// p (nil: the final pass), for localCommand. The caller holds m.mu.
func (m *migration) noteLocal(cmd string, p *Part, k keep) {
	if k.mode == "" || !m.anyLocal {
		return
	}
	if m.localJobs == nil {
		m.localJobs = map[[sha256.Size]byte]localJob{}
	}
	m.localJobs[sha256.Sum256([]byte(cmd))] = localJob{part: p, k: k}
}

// localCommand is the text a local node runs for job text cmd: the job
// without its keep check when that check would keep nothing now, else
// cmd itself.
func (m *migration) localCommand(cmd string) string {
	m.mu.Lock()
	lj, ok := m.localJobs[sha256.Sum256([]byte(cmd))]
	m.mu.Unlock()
	if !ok || !keepsNothing(lj.k, m.o.keepSrc(), m.o.keepDst()) {
		return cmd
	}
	none := keep{}
	if lj.part == nil {
		return m.o.finalCommandKeep("", none)
	}
	return m.o.partCommandKeep(lj.part, none)
}

// keepSrc and keepDst are SRC and DST as keep.sh gets them (copy.sh's
// SRC and DST, one trailing slash removed).
func (o *Options) keepSrc() string {
	return strings.TrimSuffix(strings.TrimSuffix(o.Src, "/"), "/")
}

func (o *Options) keepDst() string { return strings.TrimSuffix(copytool.DirArg(o.Dst), "/") }

// keepsNothing reports whether keep.sh, run now on this machine with k,
// SRC src and DST dst (as keep.sh has them), would keep no entry and
// write its input list unchanged (or an empty exclude file). It is false
// when it would keep one, and whenever keep.sh would do anything else
// (fail, copy a line unchecked that it cannot read back).
func keepsNothing(k keep, src, dst string) bool {
	c := keepChecker{src: src, dst: dst}
	switch k.mode {
	case "rsync-list", "rclone-list":
		data, err := os.ReadFile(k.in)
		if err != nil {
			return false
		}
		sep := byte(0)
		if k.mode == "rclone-list" {
			sep = '\n'
			// keep.sh reads lines: one without its newline would be
			// left out of its list.
			if len(data) > 0 && data[len(data)-1] != '\n' {
				return false
			}
		}
		for len(data) > 0 {
			e, rest, _ := bytes.Cut(data, []byte{sep})
			data = rest
			if len(e) == 0 {
				return false // not in any list drove writes
			}
			if sep == '\n' && rcloneUnreadable(e) {
				continue // keep.sh copies it unchecked
			}
			if !c.same(string(e)) {
				return false
			}
		}
		return true
	case "rsync-walk", "rclone-walk":
		return walkKeepsNothing(src, dst)
	}
	return false
}

// rcloneUnreadable reports whether an rclone list line holds one of the
// marks of rclone's encoding that keep.sh cannot read back (its drove_m1
// to drove_m4).
func rcloneUnreadable(line []byte) bool {
	for _, m := range []string{"\u201b", "\xe2\x90", "\uff0e", "\uff0f"} {
		if bytes.Contains(line, []byte(m)) {
			return true
		}
	}
	return false
}

// keepChecker is keep.sh's drove_check for one run: ok is the last
// directory whose directories in DST were found fine; gone says one of
// them is absent from DST or from SRC, so that every entry below it is
// absent there too and keep.sh's check passes for it: same answers so
// without an lstat.
type keepChecker struct {
	src, dst string
	ok       string
	okSet    bool
	gone     bool
	kept     bool
}

// same is keep.sh's drove_check of listed path x returning 0 (the entry is
// copied): DST holds no directory above it as another type than SRC does,
// and holds it as SRC does or not at all. It lstats the paths keep.sh
// lstats, spelled as keep.sh spells them.
func (c *keepChecker) same(x string) bool {
	p := strings.TrimPrefix(x, "./")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		if d := p[:i]; !c.okSet || d != c.ok {
			r, a, gone := d+"/", "", false
			for r != "" {
				first, rest, _ := strings.Cut(r, "/")
				if a != "" {
					a += "/"
				}
				a, r = a+first, rest
				t := lType(c.dst + "/" + a)
				if t == 'd' {
					continue
				}
				if t == '-' || lType(c.src+"/"+a) == '-' {
					gone = true
					break
				}
				c.kept = true
				return false
			}
			c.ok, c.okSet, c.gone = d, true, gone
		}
		if c.gone {
			return true // DST or SRC lacks a directory above it
		}
	}
	dt := lType(c.dst + "/" + p)
	if dt == '-' {
		return true
	}
	if st := lType(c.src + "/" + p); st == '-' || st == dt {
		return true
	}
	c.kept = true
	return false
}

// lType is keep.sh's drove_ty: l, d, f, o (another type) or - (lstat
// fails), as test -L, -d, -f and -e tell them.
func lType(p string) byte {
	fi, err := os.Lstat(p)
	if err != nil {
		return '-'
	}
	return modeType(fi.Mode())
}

// modeType is lType's letter for mode m.
func modeType(m fs.FileMode) byte {
	switch {
	case m&fs.ModeSymlink != 0:
		return 'l'
	case m.IsDir():
		return 'd'
	case m.IsRegular():
		return 'f'
	}
	return 'o'
}
