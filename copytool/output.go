package copytool

import (
	"regexp"
	"strconv"
	"strings"
)

// MessageKind says what a line rsync printed is.
type MessageKind int

// The kinds of rsync's lines.
const (
	// Other is a line that is none of the below (progress, a file name).
	Other MessageKind = iota
	// Summary is rsync's exit-23 summary, "rsync error: some
	// files/attrs were not transferred ...".
	Summary
	// Teardown is the receiver's broken pipe when the sender (a daemon)
	// has already gone: after a Summary, the end of the conversation.
	Teardown
	// Vanished is "file has vanished: PATH" (exit 24).
	Vanished
	// Gone is rsync's message for a source path it could not find:
	// ENOENT, ENOTDIR or ELOOP, matched by errno, not by the locale's
	// text. Path is as rsync printed it (Unescape reads it).
	Gone
	// Error is any other message of rsync's: an error or a warning.
	Error
)

// Message is one line of rsync's output, read.
type Message struct {
	Kind MessageKind
	// Path is the path of a Vanished or Gone message, as printed.
	Path string
	// InModule says Path is relative to a daemon module: " (in root)" or
	// " (in user)", the modules of drove's daemon (syncer).
	InModule bool
}

var (
	goneRE     = regexp.MustCompile(`^rsync: (?:\[[a-z]+\] )?(?:link_stat|change_dir|opendir|readlink_stat) "(.*)"( \(in (?:root|user)\))? failed: [^"]*\((?:2|20|40)\)$`)
	vanishedRE = regexp.MustCompile(`^file has vanished: "(.*)"( \(in (?:root|user)\))?$`)
)

const teardownLine = "rsync: [Receiver] write error: Broken pipe (32)"

// ParseRsync reads one line of rsync's output (without its newline).
func ParseRsync(l string) Message {
	switch {
	case strings.HasPrefix(l, "rsync error: some files/attrs were not transferred"):
		return Message{Kind: Summary}
	case l == teardownLine:
		return Message{Kind: Teardown}
	}
	if m := vanishedRE.FindStringSubmatch(l); m != nil {
		return Message{Kind: Vanished, Path: m[1], InModule: m[2] != ""}
	}
	if m := goneRE.FindStringSubmatch(l); m != nil {
		return Message{Kind: Gone, Path: m[1], InModule: m[2] != ""}
	}
	for _, p := range []string{"rsync", "ERROR", "WARNING", "IO error", "cannot ", "skipping "} {
		if strings.HasPrefix(l, p) {
			return Message{Kind: Error}
		}
	}
	return Message{Kind: Other}
}

// Unescape undoes rsync's escaping of file names in its messages: every
// byte it does not print as is appears as \#ooo (octal). rsync does not
// escape a backslash, so a name may read both ways.
func Unescape(s string) string {
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
