package syncer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// journalName is the journal's file name inside the work directory.
const journalName = "journal"

// record is one journal line. The journal is JSON lines, appended and
// fsync'd one record at a time, so a crash loses at most the record being
// written; a torn last line is ignored when the journal is read back.
//
//	{"t":"sync","src":...,"dst":...,"tool":"rsync"}  first line: what is being copied
//	{"t":"run","time":...,"dev":D}                    each run of drove sync; D is SRC's device number here
//	{"t":"crawl","crawl":2,"time":...}                a crawl started (lists in lists/2/)
//	{"t":"part","crawl":2,"seq":5,"files":F,"bytes":B} partition lists/2/part.000005 was written
//	{"t":"done","crawl":2,"seq":5,"node":"n1"}        it was copied (its job exited 0)
//	{"t":"crawled","crawl":2}                         crawl 2 listed the whole tree
//	{"t":"final"}                                     the final pass succeeded
//	{"t":"restart","run":2}                           run 2 starts: the runs before had finished
type record struct {
	T     string    `json:"t"`
	Src   string    `json:"src,omitempty"`
	Dst   string    `json:"dst,omitempty"`
	Tool  string    `json:"tool,omitempty"`
	Time  time.Time `json:"time,omitzero"`
	Crawl int       `json:"crawl,omitempty"`
	Seq   int       `json:"seq,omitempty"`
	Files int       `json:"files,omitempty"`
	Bytes int64     `json:"bytes,omitempty"`
	Node  string    `json:"node,omitempty"`
	Run   int       `json:"run,omitempty"`
	Dev   uint64    `json:"dev,omitempty"`
}

// MismatchError is a work directory whose journal records another sync:
// a different SRC, DST or tool. Nothing was run.
type MismatchError struct {
	Work, What, Journal, Given string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("sync: %s holds a sync with %s %q, not %q: use another work directory, or the same SRC, DST and tool to resume",
		e.Work, e.What, e.Journal, e.Given)
}

// BusyError is a work directory in use by another drove sync.
type BusyError struct{ Work string }

func (e *BusyError) Error() string {
	return fmt.Sprintf("sync: %s is in use by another drove sync", e.Work)
}

// state is what a journal says about a sync.
type state struct {
	header  *record
	parts   map[partKey]*Part
	order   []partKey // in the order they were created
	crawls  int       // highest crawl number started
	crawled map[int]bool
	// crawlTime is when each crawl started (zero for journals written
	// before drove recorded it).
	crawlTime map[int]time.Time
	final     bool
	run       int // the current run's number, from 1
	// srcDev is SRC's device number as the last run that recorded one
	// saw it (0: none recorded).
	srcDev uint64
}

// finished reports whether the journal's current run is over: a crawl
// listed the whole tree, every partition is done, and the final pass ran
// (when asked for).
func (st *state) finished(finalPass bool) bool {
	if st.header == nil || st.crawls == 0 || !st.crawled[st.crawls] || (finalPass && !st.final) {
		return false
	}
	for _, p := range st.parts {
		if !p.Done {
			return false
		}
	}
	return true
}

// restart forgets the current run, keeping the header and the crawl
// numbers (a new crawl gets a new list directory), and counts a new one.
func (st *state) restart() {
	st.parts, st.order, st.crawled, st.final = map[partKey]*Part{}, nil, map[int]bool{}, false
	st.run++
}

type partKey struct{ crawl, seq int }

// journal appends records to the journal file, holding an exclusive lock
// on it for the life of the run.
type journal struct {
	mu   sync.Mutex // appends come from the crawl and from runner events
	f    *os.File
	path string
}

// openJournal locks and reads the journal in work (creating it if
// missing). A second drove sync on the same work directory gets a
// *BusyError.
func openJournal(work string) (*journal, *state, error) {
	path := filepath.Join(work, journalName)
	// Never through a symbolic link (a planted one would make drove
	// truncate or append to its target), never anything but a file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND|openNoFollow, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("sync: journal: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errNotRegular
		}
		return nil, nil, fmt.Errorf("sync: journal %s: %w", path, err)
	}
	if busy, err := lockFile(f); err != nil || busy {
		f.Close()
		if busy {
			return nil, nil, &BusyError{Work: work}
		}
		return nil, nil, fmt.Errorf("sync: journal: lock: %w", err)
	}
	st, err := readJournal(f, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return &journal{f: f, path: path}, st, nil
}

// readJournal parses every whole line. A last line without a newline is
// a record torn by a crash and is dropped (and cut off, so appends start
// on a fresh line); a bad line elsewhere is an error naming the line.
func readJournal(f *os.File, path string) (*state, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sync: journal: %w", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
		if err := f.Truncate(int64(len(data))); err != nil {
			return nil, fmt.Errorf("sync: journal: %w", err)
		}
	}
	st := &state{parts: map[partKey]*Part{}, crawled: map[int]bool{}, crawlTime: map[int]time.Time{}, run: 1}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("sync: %s:%d: %w", path, line, err)
		}
		if line == 1 && r.T != "sync" {
			return nil, fmt.Errorf("sync: %s:1: not a drove sync journal", path)
		}
		if r.Crawl < 0 || r.Seq < 0 || r.Files < 0 || r.Bytes < 0 || r.Run < 0 ||
			(r.T == "part" || r.T == "done") && (r.Crawl == 0 || r.Seq == 0) ||
			(r.T == "crawl" || r.T == "crawled") && r.Crawl == 0 {
			return nil, fmt.Errorf("sync: %s:%d: bad numbers in a %q record", path, line, r.T)
		}
		switch r.T {
		case "sync":
			if line != 1 {
				return nil, fmt.Errorf("sync: %s:%d: a second sync header", path, line)
			}
			rr := r
			st.header = &rr
		case "crawl":
			st.crawls = max(st.crawls, r.Crawl)
			st.crawlTime[r.Crawl] = r.Time
		case "part":
			k := partKey{r.Crawl, r.Seq}
			if _, dup := st.parts[k]; !dup {
				st.order = append(st.order, k)
			}
			st.parts[k] = &Part{Crawl: r.Crawl, Seq: r.Seq, Files: r.Files, Bytes: r.Bytes, listed: st.crawlTime[r.Crawl]}
		case "done":
			p, ok := st.parts[partKey{r.Crawl, r.Seq}]
			if !ok {
				return nil, fmt.Errorf("sync: %s:%d: partition %d/%d done before it was created", path, line, r.Crawl, r.Seq)
			}
			p.Done, p.Node = true, r.Node
		case "crawled":
			st.crawled[r.Crawl] = true
		case "final":
			st.final = true
		case "restart":
			st.restart()
		case "run":
			if r.Dev != 0 {
				st.srcDev = r.Dev
			}
		default:
			return nil, fmt.Errorf("sync: %s:%d: unknown record %q", path, line, r.T)
		}
	}
	return st, nil
}

// append writes r as one line and fsyncs it.
func (j *journal) append(r record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("sync: journal: %w", err)
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("sync: journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync: journal: %w", err)
	}
	return nil
}

// close releases the lock.
func (j *journal) close() error { return j.f.Close() }
