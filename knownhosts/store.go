package knownhosts

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Store caches parsed known_hosts databases, one per list of files, and
// remembers the lines recorded in this run. It is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	dbs      map[string]*DB
	accepted map[string]bool   // lines recorded by Record, unhashed
	pinned   map[string]string // name -> the "name key" line accepted for it without a record (Pin)
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{dbs: map[string]*DB{}, accepted: map[string]bool{}, pinned: map[string]string{}}
}

// DB returns the database for files, in order, parsed once (see Read) and
// cached until Record appends to a file. bad is called for each line that
// cannot be parsed, while the Store is locked.
func (s *Store) DB(files []string, bad func(file string, line int, why string)) (*DB, error) {
	key := strings.Join(files, "\x00")
	s.mu.Lock()
	defer s.mu.Unlock()
	if db, ok := s.dbs[key]; ok {
		return db, nil
	}
	db, err := Read(files, bad)
	if err != nil {
		return nil, err
	}
	s.dbs[key] = db
	return db, nil
}

// Pin remembers, for the rest of the run, that name was accepted with the
// key of line (the unhashed "name key" entry) although it is on file
// nowhere; it reports the line pinned first for name, which is line itself
// unless another key was pinned before: then the caller must refuse.
func (s *Store) Pin(name, line string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.pinned[name]; ok {
		return old
	}
	s.pinned[name] = line
	return line
}

// Accepted reports whether line was recorded by Record in this run.
func (s *Store) Accepted(line string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted[line]
}

// Record appends entry as a line to file (creating it and its directory,
// and starting a new line if the file does not end with one), once per run
// for line (the unhashed "name key" entry, its identity), and drops the
// cached databases so later lookups see it.
func (s *Store) Record(file, line, entry string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accepted[line] {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	prefix := ""
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			prefix = "\n"
		}
	}
	_, err = f.WriteString(prefix + entry + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	s.accepted[line] = true
	clear(s.dbs)
	return nil
}
