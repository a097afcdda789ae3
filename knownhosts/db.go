package knownhosts

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/drove-dev/drove/internal/sshpattern"
)

// MaxLineLen bounds one known_hosts line (OpenSSH's is 16 KiB; some
// RSA-16384 lines are longer).
const MaxLineLen = 1 << 20

// DB is a list of known_hosts files, read for the names looked up in it:
// Want reads the files once for every name asked for and not read yet (one
// pass, streamed, for all the names that callers want meanwhile), and keeps
// only the lines that apply to one of them, parsed. Memory grows with the
// lines of the run's hosts, not with the files; time is one pass per batch
// of names, a hashed line costing one HMAC per name (as ssh pays per host).
// A DB is safe for concurrent use; its zero value has no files.
type DB struct {
	paths []string
	bad   func(file string, line int, why string)

	mu       sync.Mutex
	cond     sync.Cond // on mu: a pass ended
	scanning bool
	pending  map[string]bool  // names the next pass reads
	names    map[string]error // names read (nil), or whose pass failed
	entries  []Entry          // their lines, in file order; replaced, never changed
	files    []string         // the files that existed at the first pass, in order
	read     bool             // a pass has set files
	lines    map[string]int   // lines in each file, at the last pass or record
}

// Open returns the DB of files, in order, without reading them yet. A
// line that cannot be parsed (bad key, bad hash, unknown marker, missing
// fields) is skipped and reported through bad with its file and line
// number, when it is for a name looked up (as ssh reads only the lines of
// its host): one bad line never makes every host unreachable. Missing
// files are skipped.
func Open(files []string, bad func(file string, line int, why string)) *DB {
	if bad == nil {
		bad = func(string, int, string) {}
	}
	return &DB{paths: slices.Clone(files), bad: bad}
}

// Files returns the files that existed when db was first read, in order,
// and those Store.Record created since.
func (db *DB) Files() []string {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.files
}

// Want reads the lines for names (in known_hosts form: "host" or
// "[host]:port") not read yet, and returns an error when the files could
// not be read for one of them.
func (db *DB) Want(names ...string) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.cond.L == nil {
		db.cond.L = &db.mu
	}
	for {
		missing := false
		for _, n := range names {
			n = strings.ToLower(n)
			err, done := db.names[n]
			if done && err != nil {
				return err
			}
			if !done {
				missing = true
				if db.pending == nil {
					db.pending = map[string]bool{}
				}
				db.pending[n] = true
			}
		}
		if !missing {
			return nil
		}
		if db.scanning {
			db.cond.Wait()
			continue
		}
		batch := db.pending
		db.pending = nil
		db.scanning = true
		db.mu.Unlock()
		found, files, lines, err := scan(db.paths, batch, db.bad)
		db.mu.Lock()
		db.scanning = false
		db.cond.Broadcast()
		if db.names == nil {
			db.names = map[string]error{}
		}
		for n := range batch {
			db.names[n] = err
		}
		if err != nil {
			continue // the loop returns it
		}
		if !db.read {
			db.files, db.read = files, true
		}
		db.lines = lines
		db.entries = mergeEntries(db.paths, db.entries, found)
	}
}

// of returns the entries that may apply to name, reading them first if
// need be; a read error then leaves nothing on file for name (Want reports
// it).
func (db *DB) of(name string) []Entry {
	_ = db.Want(name)
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.entries
}

// recorded adds entry, just appended to file by Store.Record, as the
// file's next line, and counts that line.
func (db *DB) recorded(file string, e Entry) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if !slices.Contains(db.paths, file) {
		return
	}
	if db.read && !slices.Contains(db.files, file) {
		var files []string
		for _, p := range db.paths {
			if p == file || slices.Contains(db.files, p) {
				files = append(files, p)
			}
		}
		db.files = files
	}
	if db.lines == nil {
		db.lines = map[string]int{}
	}
	db.lines[file]++
	e.File, e.Line = file, db.lines[file]
	db.entries = mergeEntries(db.paths, db.entries, []Entry{e})
}

// mergeEntries returns old and more in file order (the order of paths,
// then line), each file line once.
func mergeEntries(paths []string, old, more []Entry) []Entry {
	out := make([]Entry, 0, len(old)+len(more))
	out = append(append(out, old...), more...)
	order := func(e Entry) int { return slices.Index(paths, e.File) }
	slices.SortStableFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(order(a), order(b)), cmp.Compare(a.Line, b.Line))
	})
	return slices.CompactFunc(out, func(a, b Entry) bool { return a.File == b.File && a.Line == b.Line })
}

// scan reads paths in one pass and returns the parsed lines that apply to
// one of names (lower case), the files that exist, and each one's line
// count.
func scan(paths []string, names map[string]bool, bad func(string, int, string)) ([]Entry, []string, map[string]int, error) {
	m := newMatcher(names)
	var found []Entry
	var files []string
	lines := map[string]int{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue // missing, as ssh skips it
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			continue
		}
		files = append(files, p)
		n, err := scanFile(f, p, m, bad, &found)
		f.Close()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("known_hosts: %s: %w", p, err)
		}
		lines[p] = n
	}
	return found, files, lines, nil
}

// scanFile reads one file line by line; a line longer than MaxLineLen is
// reported and skipped without being held. It returns the number of lines.
func scanFile(r io.Reader, path string, m *matcher, bad func(string, int, string), found *[]Entry) (int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if long != nil || len(chunk) > 0 {
				if len(long) <= MaxLineLen {
					long = append(long, chunk...)
				}
			}
			continue
		}
		if len(chunk) > 0 || long != nil {
			n++
			line := chunk
			if long != nil {
				if len(long) <= MaxLineLen {
					long = append(long, chunk...)
				}
				line, long = long, nil
			}
			if len(bytes.TrimSpace(line)) > MaxLineLen {
				bad(path, n, fmt.Sprintf("line longer than %d bytes", MaxLineLen))
			} else {
				m.line(bytes.TrimSpace(line), path, n, bad, found)
			}
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// matcher tells the lines for a set of names from the rest, before
// parsing their keys: plain host lists by their names, patterns by
// matching each name, hashed names by one HMAC-SHA1 per name (computed
// here with one reused SHA-1, so a line costs no allocation).
type matcher struct {
	names [][]byte
	set   map[string]bool
	lower []byte
	sha   hash.Hash
	ipad  [sha1.BlockSize]byte
	opad  [sha1.BlockSize]byte
	sum   []byte
	salt  [sha1.Size + 1]byte
	want  [sha1.Size + 1]byte
}

func newMatcher(names map[string]bool) *matcher {
	m := &matcher{set: names, sha: sha1.New(), sum: make([]byte, 0, sha1.Size)}
	for n := range names {
		m.names = append(m.names, []byte(n))
	}
	slices.SortFunc(m.names, bytes.Compare)
	return m
}

// hashed reports whether the hashed host name h ("|1|salt|hash") is one of
// the names; ok is false when h is malformed.
func (m *matcher) hashed(h []byte) (match, ok bool) {
	rest, ok := bytes.CutPrefix(h, []byte("|1|"))
	salt, sum, ok2 := bytes.Cut(rest, []byte{'|'})
	enc := base64.StdEncoding.EncodedLen(sha1.Size)
	if !ok || !ok2 || len(salt) != enc || len(sum) != enc {
		return false, false
	}
	ns, err1 := base64.StdEncoding.Decode(m.salt[:], salt)
	nh, err2 := base64.StdEncoding.Decode(m.want[:], sum)
	if err1 != nil || err2 != nil || ns != sha1.Size || nh != sha1.Size {
		return false, false
	}
	// HMAC (RFC 2104) with a key shorter than a block.
	for i := range m.ipad {
		k := byte(0)
		if i < sha1.Size {
			k = m.salt[i]
		}
		m.ipad[i], m.opad[i] = k^0x36, k^0x5c
	}
	for _, name := range m.names {
		m.sha.Reset()
		m.sha.Write(m.ipad[:])
		m.sha.Write(name)
		m.sum = m.sha.Sum(m.sum[:0])
		m.sha.Reset()
		m.sha.Write(m.opad[:])
		m.sha.Write(m.sum)
		m.sum = m.sha.Sum(m.sum[:0])
		if hmac.Equal(m.sum, m.want[:sha1.Size]) {
			return true, true
		}
	}
	return false, true
}

// line keeps line (trimmed, numbered n of path) in found when it applies
// to a name, parsed; such a line that does not parse goes to bad.
func (m *matcher) line(line []byte, path string, n int, bad func(string, int, string), found *[]Entry) {
	if len(line) == 0 || line[0] == '#' {
		return
	}
	rest := line
	if rest[0] == '@' {
		_, rest = field(rest) // the marker
	}
	hosts, rest := field(rest)
	// A line with no key after its hosts is nobody's: said at once (ssh
	// would not get that far unless the host matched).
	if len(hosts) > 0 && len(bytes.TrimSpace(rest)) > 0 && !m.applies(hosts, path, n, bad) {
		return
	}
	e, err := ParseLine(line)
	if err != nil {
		bad(path, n, err.Error())
		return
	}
	e.File, e.Line = path, n
	*found = append(*found, e)
}

// applies reports whether the host field hosts may apply to one of the
// names. A malformed hashed name is reported and applies to none.
func (m *matcher) applies(hosts []byte, path string, n int, bad func(string, int, string)) bool {
	if hosts[0] == '|' {
		if bytes.IndexByte(hosts, ',') >= 0 {
			bad(path, n, "hashed host name in a list")
			return false
		}
		if match, ok := m.hashed(hosts); ok {
			return match
		}
		// Not in the form HashKnownHosts writes: Entry.Matches decides.
		e := Entry{Hosts: []string{string(hosts)}}
		if _, _, err := decodeHash(e.Hosts[0]); err != nil {
			bad(path, n, err.Error())
			return false
		}
		for _, name := range m.names {
			if e.Matches(string(name)) {
				return true
			}
		}
		return false
	}
	if bytes.ContainsAny(hosts, "*?!") {
		patterns := strings.Split(string(hosts), ",")
		for _, name := range m.names {
			if sshpattern.MatchList(string(name), patterns, true) == 1 {
				return true
			}
		}
		return false
	}
	for item := range bytes.SplitSeq(hosts, []byte{','}) {
		m.lower = append(m.lower[:0], item...)
		for i, c := range m.lower {
			if 'A' <= c && c <= 'Z' {
				m.lower[i] = c + 'a' - 'A'
			}
		}
		if m.set[string(m.lower)] {
			return true
		}
	}
	return false
}

// field returns the first blank-separated field of b and what follows it.
func field(b []byte) (f, rest []byte) {
	b = bytes.TrimLeft(b, " \t")
	i := bytes.IndexAny(b, " \t")
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i:]
}
