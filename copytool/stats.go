package copytool

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Stats is what one run of a copy tool reported it did, read line by line
// from its output (Read): rsync's --stats block, rclone's JSON log
// (--use-json-log, with its final statistics: StatsArgs).
type Stats struct {
	// Reported says the tool's statistics were seen: without them the
	// counts below are not known (the tool died, or printed none).
	Reported bool
	// Files is how many entries were transferred: regular files whose
	// data was sent (rsync: "Number of regular files transferred"; rclone:
	// "transfers"), and for rsync symbolic links, devices and specials it
	// created.
	Files int64
	// Bytes is the size of the regular files transferred (rsync: "Total
	// transferred file size"; rclone: "bytes"), not what crossed the wire.
	Bytes int64
	// Present is how many entries DST already had up to date, so that
	// nothing was sent: rsync's files (directories aside) less Files;
	// rclone's "checks".
	Present int64
	// Links are the symbolic links rclone skipped ("Can't follow symlink
	// without -L/--copy-links"), each named once however often rclone
	// retried; Specials the devices, FIFOs and sockets it skipped
	// ("Can't transfer non file/directory").
	Links, Specials map[string]bool
	// ErrorLine is the tool's own line that says why it failed: rsync's
	// first message ("rsync: [Receiver] mkdir ... failed: Read-only file
	// system (30)"), else its "rsync error: ..." line; rclone's fatal
	// message when it printed one ("Failed to copy with 2 errors: last
	// error was: ..."), else its last error-level message, with the
	// object it names.
	ErrorLine string
	fatal     bool

	// rsync's counts: entries (not directories) in its file list, links,
	// devices and specials it created, regular files it sent.
	entries, createdOther, regSent int64
}

// StatsArgs are the arguments that make tool print what Stats reads,
// placed before the user's arguments (which may override them): rsync
// --stats; rclone's log as JSON, with its statistics logged once at the
// end, at a level that is always logged.
func StatsArgs(tool Tool) []string {
	if tool == Rclone {
		return []string{"--use-json-log", "--stats-log-level", "NOTICE", "--stats", "1h"}
	}
	return []string{"--stats"}
}

// Read reads one line (without its newline) of what tool printed.
func (s *Stats) Read(tool Tool, line string) {
	if tool == Rclone {
		s.readRclone(line)
		return
	}
	s.readRsync(line)
}

// rsync's --stats lines, e.g. "Number of files: 1,234 (reg: 1,000, dir:
// 230, link: 4)"; digit separators depend on the locale and -h.
func (s *Stats) readRsync(l string) {
	if s.ErrorLine == "" && (strings.HasPrefix(l, "rsync: ") || strings.HasPrefix(l, "rsync error: ")) {
		s.ErrorLine = Printable(l)
	}
	key, val, ok := strings.Cut(l, ": ")
	if !ok {
		return
	}
	switch key {
	case "Number of files":
		// The first line of the block: a new block (one per rsync run)
		// starts the counts again.
		*s = Stats{Reported: true, ErrorLine: s.ErrorLine}
		total, kinds := rsyncKinds(val)
		s.entries = total - kinds["dir"]
	case "Number of created files":
		total, kinds := rsyncKinds(val)
		s.createdOther = total - kinds["dir"] - kinds["reg"]
	case "Number of regular files transferred":
		s.regSent = rsyncNumber(val)
	case "Total transferred file size":
		s.Bytes = rsyncNumber(strings.TrimSuffix(val, " bytes"))
	default:
		return
	}
	s.Files = s.regSent + s.createdOther
	s.Present = max(s.entries-s.Files, 0)
}

// rsyncKinds reads "N (reg: a, dir: b, link: c)" (or "N").
func rsyncKinds(val string) (int64, map[string]int64) {
	total, rest, _ := strings.Cut(val, " (")
	kinds := map[string]int64{}
	for _, f := range strings.Split(strings.TrimSuffix(rest, ")"), ", ") {
		// A field is "kind: n"; a digit separator "," never has a space
		// after it, so it does not split a number.
		if k, v, ok := strings.Cut(f, ": "); ok {
			kinds[k] = rsyncNumber(v)
		}
	}
	return rsyncNumber(total), kinds
}

// rsyncNumber reads a count rsync printed, whatever its digit separators.
func rsyncNumber(s string) int64 {
	var n int64
	for _, c := range strings.TrimSpace(s) {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int64(c-'0')
		case c == ',' || c == '.' || c == '\'' || c == ' ' || c == '_':
		default:
			return n
		}
	}
	return n
}

// rcloneLine is a line of rclone's JSON log.
type rcloneLine struct {
	Level  string `json:"level"`
	Msg    string `json:"msg"`
	Object string `json:"object"`
	Stats  *struct {
		Bytes     int64 `json:"bytes"`
		Checks    int64 `json:"checks"`
		Transfers int64 `json:"transfers"`
	} `json:"stats"`
}

// rclone's messages for what it skips.
const (
	rcloneLinkSkipped    = "Can't follow symlink without -L/--copy-links"
	rcloneSpecialSkipped = "Can't transfer non file/directory"
)

func (s *Stats) readRclone(l string) {
	if !strings.HasPrefix(l, "{") {
		// rclone's fatal message at exit is plain text after the date:
		// "2026/12/05 18:00:10 Failed to copy with 2 errors: ...".
		if rest, ok := cutRcloneDate(l); ok && strings.HasPrefix(rest, "Failed to ") {
			s.ErrorLine, s.fatal = Printable(rest), true
		}
		return
	}
	var r rcloneLine
	if json.Unmarshal([]byte(l), &r) != nil {
		return
	}
	switch {
	case r.Stats != nil:
		s.Reported = true
		s.Files, s.Bytes, s.Present = r.Stats.Transfers, r.Stats.Bytes, r.Stats.Checks
	case r.Msg == rcloneLinkSkipped && r.Object != "":
		if s.Links == nil {
			s.Links = map[string]bool{}
		}
		s.Links[r.Object] = true
	case r.Msg == rcloneSpecialSkipped && r.Object != "":
		if s.Specials == nil {
			s.Specials = map[string]bool{}
		}
		s.Specials[r.Object] = true
	case (r.Level == "error" || r.Level == "critical") && !s.fatal:
		s.ErrorLine = Printable(r.Msg)
		if r.Object != "" {
			s.ErrorLine = Printable(r.Object + ": " + r.Msg)
		}
	}
}

// maxErrorLine is how much of a tool's error line ErrorLine keeps.
const maxErrorLine = 512

// Printable is l for a message of drove's own: cut to maxErrorLine bytes
// (on a character boundary, "..." where it was cut) and Go-quoted unless
// every character prints, so that a file name in it can neither break
// the line nor act on a terminal.
func Printable(l string) string {
	if len(l) > maxErrorLine {
		cut := maxErrorLine
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		l = l[:cut] + "..."
	}
	if strings.IndexFunc(l, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' || r == utf8.RuneError }) >= 0 {
		return strconv.Quote(l)
	}
	return l
}

// cutRcloneDate cuts "YYYY/MM/DD hh:mm:ss " off the start of l.
func cutRcloneDate(l string) (string, bool) {
	const layout = "2006/01/02 15:04:05 "
	if len(l) < len(layout) {
		return l, false
	}
	for i, c := range l[:len(layout)] {
		want := layout[i]
		if want >= '0' && want <= '9' {
			if c < '0' || c > '9' {
				return l, false
			}
		} else if byte(c) != want {
			return l, false
		}
	}
	return l[len(layout):], true
}
