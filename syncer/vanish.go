package syncer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/drove-dev/drove/copytool"
)

// maxLogRead is how much of a log's end drove reads to judge an attempt:
// an attempt whose messages do not fit is not judged vanished.
const maxLogRead = 8 << 20

// pathMax is Linux's PATH_MAX: rsync cuts longer paths in its messages.
const pathMax = 4096

// listedIn returns whether a path relative to SRC is an entry of the
// NUL-separated list file or a directory above one. It reads the file
// once, when first asked.
func listedIn(list string) func(rel string) bool {
	var set map[string]bool
	return func(rel string) bool {
		if set == nil {
			set = map[string]bool{}
			data, err := os.ReadFile(list)
			if err != nil {
				return false
			}
			for _, e := range strings.Split(string(data), "\x00") {
				e = strings.TrimPrefix(e, "./")
				for e != "" && e != "." && !set[e] {
					set[e] = true
					e = filepath.Dir(e)
				}
			}
		}
		return set[strings.TrimPrefix(rel, "./")]
	}
}

// exit23Line is the line a copy job (copy.sh) appends to its log after an
// rsync that exited 23.
const exit23Line = "== exit 23"

// checkExit23 reads the last attempt in log and reports nil when that
// attempt did not end with rsync's exit 23 (it ended with 24, which is
// always a vanished source) or when every error rsync reported is a source
// path that is gone now or was made again since: rsync said it does not
// exist (or that its parent is not a directory), and on this machine the
// path itself is gone, or is there with its own ctime at or after since
// (deleted and made again after it was listed). The path's directories'
// ctimes do not count: a directory's ctime moves whenever anything in it is
// created, so they would excuse a file that a node with a stale view of SRC
// (an NFS cache, a lagging replica) could not see. listed, when not nil,
// says whether a path (relative to SRC) is an entry the attempt was given
// or a directory above one; a path that is not (rsync cuts paths longer
// than PATH_MAX in its messages) cannot be judged. Anything else —
// permission denied, a path rsync could not find but that is here
// unchanged, a path drove cannot map back, an error drove does not know, a
// log it cannot read — is an error naming the first such message. A zero
// since counts nothing as changed.
func checkExit23(log, src string, since time.Time, listed func(rel string) bool) error {
	attempt, err := lastAttempt(log)
	if err != nil {
		return fmt.Errorf("sync: rsync exited 23 or 24 and its log cannot be read: %w", err)
	}
	lines := strings.Split(attempt, "\n")
	exit23 := false
	for _, l := range lines {
		exit23 = exit23 || l == exit23Line
	}
	if !exit23 {
		return nil
	}
	gone, summed := 0, false
	for _, l := range lines {
		if l == exit23Line {
			continue
		}
		switch msg := copytool.ParseRsync(l); msg.Kind {
		case copytool.Summary:
			summed = true
		case copytool.Teardown:
			if !summed {
				return fmt.Errorf("rsync exited 23: %s", l)
			}
		case copytool.Vanished:
		case copytool.Gone:
			// rsync does not escape a backslash, so a name holding
			// "\#ooo" reads both ways: both must be gone.
			for _, p := range []string{msg.Path, copytool.Unescape(msg.Path)} {
				if msg.InModule { // relative to the module, which is SRC
					p = filepath.Join(src, strings.TrimLeft(p, "/"))
				}
				rel, inSrc := strings.CutPrefix(p, strings.TrimSuffix(src, "/")+"/")
				if !inSrc || len(p) >= pathMax-1 || (listed != nil && !listed(rel)) {
					return fmt.Errorf("rsync exited 23: it could not find %q, which drove cannot match to an entry it listed (rsync cuts paths of %d bytes and more)", p, pathMax)
				}
				if !goneSince(src, p, since) {
					return fmt.Errorf("rsync exited 23: it could not find %q, which is there on this machine, unchanged since it was listed", p)
				}
			}
			gone++
		case copytool.Error:
			return fmt.Errorf("rsync exited 23: %s", l)
		}
	}
	if gone == 0 {
		return errors.New("rsync exited 23 without saying which files it could not transfer")
	}
	return nil
}

// lastAttempt returns the text of log after its last "== " attempt header
// (the header line itself left out), reading at most maxLogRead bytes
// from its end.
func lastAttempt(log string) (string, error) {
	f, err := os.Open(log)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	off := max(fi.Size()-maxLogRead, 0)
	data, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return "", err
	}
	// The last header that is not the exit line.
	end := len(data)
	for {
		i := bytes.LastIndex(data[:end], []byte("\n== "))
		start := i + 1
		if i < 0 {
			if off > 0 || !bytes.HasPrefix(data, []byte("== ")) {
				return "", errors.New("no attempt header in " + log)
			}
			start = 0
		}
		line, _, _ := bytes.Cut(data[start:], []byte("\n"))
		if string(line) != exit23Line {
			rest := data[start+len(line):]
			return strings.TrimPrefix(string(rest), "\n"), nil
		}
		if start == 0 {
			return "", errors.New("no attempt header in " + log)
		}
		end = start - 1
	}
}
