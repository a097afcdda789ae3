package syncer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxLogRead is how much of a log's end drove reads to judge an attempt:
// an attempt whose messages do not fit is not judged vanished.
const maxLogRead = 8 << 20

// goneRE matches rsync's message for a source path it could not find: an
// entry of --files-from that was deleted after it was listed, or whose
// parent became a file or a symlink (rsync exits 23 for those, not 24), or
// a directory that went away during a recursive pass. The error is matched
// by its errno (ENOENT 2, ENOTDIR 20, ELOOP 40), not by strerror's text,
// which the node's locale may translate. A path read through drove's
// daemon module is relative to SRC and followed by " (in MODULE)".
var goneRE = regexp.MustCompile(`^rsync: (?:\[[a-z]+\] )?(?:link_stat|change_dir|opendir|readlink_stat) "(.*)"( \(in (?:root|user)\))? failed: [^"]*\((?:2|20|40)\)$`)

// teardownLine is what the receiving rsync may print after its exit-23
// summary when the daemon that reads SRC (see confine.go) has already
// gone: the end of the conversation, not an error of its own.
const teardownLine = "rsync: [Receiver] write error: Broken pipe (32)"

// vanishedRE matches rsync's note for a file that vanished while it was
// being sent (exit 24), which may appear with other messages.
var vanishedRE = regexp.MustCompile(`^file has vanished: "(.*)"(?: \(in (?:root|user)\))?$`)

// checkExit23 reads the last attempt in log and reports nil when that
// attempt did not end with rsync's exit 23 (it ended with 24, which is
// always a vanished source) or when every error rsync reported is a source
// path that is gone now or changed since: rsync said it does not exist (or
// that its parent is not a directory), and lstat here agrees, or the path
// or one of its directories below src changed (its ctime) at or after
// since, when the entries were listed (a file deleted and made again, a
// directory renamed away and back). Anything else — permission denied, a
// path rsync could not find but that is here unchanged since it was listed
// (a node that does not see the tree as drove does), an error drove does
// not know, a log it cannot read — is an error naming the first such
// message. A zero since counts nothing as changed.
func checkExit23(log, src string, since time.Time) error {
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
		switch {
		case l == exit23Line:
		case strings.HasPrefix(l, "rsync error: some files/attrs were not transferred"):
			summed = true
		case summed && l == teardownLine:
		case vanishedRE.MatchString(l):
		case goneRE.MatchString(l):
			// rsync does not escape a backslash, so a name holding
			// "\#ooo" reads both ways: both must be gone.
			m := goneRE.FindStringSubmatch(l)
			raw := m[1]
			for _, p := range []string{raw, unescapeRsync(raw)} {
				if m[2] != "" { // relative to the module, which is SRC
					p = filepath.Join(src, strings.TrimLeft(p, "/"))
				}
				if !goneSince(src, p, since) {
					return fmt.Errorf("rsync exited 23: it could not find %q, which is there on this machine, unchanged since it was listed", p)
				}
			}
			gone++
		case strings.HasPrefix(l, "rsync") || strings.HasPrefix(l, "ERROR") || strings.HasPrefix(l, "WARNING") ||
			strings.HasPrefix(l, "IO error") || strings.HasPrefix(l, "cannot ") || strings.HasPrefix(l, "skipping "):
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

// unescapeRsync undoes rsync's escaping of file names in its messages:
// every byte it does not print as is appears as \#ooo (octal).
func unescapeRsync(s string) string {
	if !strings.Contains(s, `\#`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 < len(s) && s[i+1] == '#' {
			if n, err := strconv.ParseUint(s[i+2:i+5], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 4
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
