// Package copytool owns the command lines of the copy tools drove drives,
// rsync and rclone: their names, their arguments, the quoting of every word,
// and the reading of what they print.
package copytool

import (
	"fmt"
	"strings"

	"github.com/drove-dev/drove/internal/shquote"
)

// Tool is a copy tool. The zero value is Rsync.
type Tool int

// The tools.
const (
	// Rsync: rsync -a, lists NUL-separated (--from0 --files-from).
	Rsync Tool = iota
	// Rclone: rclone copy or sync, lists newline-separated in rclone's
	// encoding (--files-from-raw).
	Rclone
)

var names = [...]string{"rsync", "rclone"}

// String is the tool's name, the program it runs.
func (t Tool) String() string {
	if t >= 0 && int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("tool(%d)", int(t))
}

// Valid reports whether t is one of the tools.
func (t Tool) Valid() bool { return t >= 0 && int(t) < len(names) }

// ErrUnknownTool is returned by Parse for a name that is not a tool.
type ErrUnknownTool struct{ Name string }

func (e *ErrUnknownTool) Error() string {
	return fmt.Sprintf("copytool: unknown tool %q (want %s)", e.Name, strings.Join(names[:], " or "))
}

// Parse returns the tool named s ("rsync" or "rclone").
func Parse(s string) (Tool, error) {
	for i, n := range names {
		if s == n {
			return Tool(i), nil
		}
	}
	return 0, &ErrUnknownTool{Name: s}
}

// Quote returns s as one POSIX shell word that expands to exactly s
// (internal/shquote.Quote).
func Quote(s string) string { return shquote.Quote(s) }

// SafeLead keeps a path that starts with "-" from being read as an option:
// it gets a "./" in front.
func SafeLead(s string) string {
	if strings.HasPrefix(s, "-") {
		return "./" + s
	}
	return s
}

// DirArg is s as rsync's directory argument (copy the contents): SafeLead,
// with a trailing slash unless it already has one or is a bare "host:"
// (the remote home directory).
func DirArg(s string) string {
	s = SafeLead(s)
	if strings.HasSuffix(s, "/") || strings.HasSuffix(s, ":") {
		return s
	}
	return s + "/"
}
