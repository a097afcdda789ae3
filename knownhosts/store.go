package knownhosts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Store caches known_hosts databases, one per list of files, and remembers
// the lines recorded in this run and the key each name was first accepted
// with. It is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	dbs      map[string]*DB
	accepted map[string]bool   // lines recorded by Record, unhashed
	pinned   map[string]string // name -> the "name key" line it was first accepted with (Pin)
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{dbs: map[string]*DB{}, accepted: map[string]bool{}, pinned: map[string]string{}}
}

// DB returns the database for files, in order (see Open), one per list of
// files for the Store's life: the lines read for a name are read once. bad
// is that of the first call for the list.
func (s *Store) DB(files []string, bad func(file string, line int, why string)) *DB {
	key := strings.Join(files, "\x00")
	s.mu.Lock()
	defer s.mu.Unlock()
	if db, ok := s.dbs[key]; ok {
		return db
	}
	db := Open(files, bad)
	s.dbs[key] = db
	return db
}

// Pin remembers, for the rest of the run, that name was accepted with the
// key of line (the unhashed "name key" entry); it reports the line pinned
// first for name, which is line itself unless another key was pinned
// before: then the caller must refuse.
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
// for line (the unhashed "name key" entry, its identity), and adds it to
// the databases of the Store that read file, as its next line, so later
// lookups see it without reading the file again.
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
	if st, err := os.Stat(file); err != nil || !st.Mode().IsRegular() {
		return nil // /dev/null keeps nothing, and is never read
	}
	e, err := ParseLine([]byte(entry))
	if err != nil {
		return fmt.Errorf("known_hosts: the line recorded does not parse: %w", err)
	}
	for _, db := range s.dbs {
		db.recorded(file, e)
	}
	return nil
}
