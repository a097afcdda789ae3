// Package sshconfig is drove's own ssh_config reader: it loads the files,
// evaluates Host and Match lines (all, host, originalhost, user, localuser,
// exec, final, canonical, ! negation; Include anywhere) in file order for one
// host, and returns the active lines, first value winning, as OpenSSH's
// readconf.c does. The local side (home, user, host name, uid, how to run
// Match exec, where notes go) is an explicit Env. Turning the values into a
// connection target is the caller's business (package nodes).
//
// drove reads ssh_config itself rather than through kevinburke/ssh_config:
// that library rejects a whole file at the first Match criterion other than
// all/host, and its Host-keyed lookup cannot evaluate Match blocks in file
// order against values set by earlier lines (Match host sees the HostName
// set so far, Match user the User), nor say which file:line a value came from
// (drove --dry-run shows that). OpenSSH's own model is small: a stream of
// lines, an "active" flag that Host and Match lines set, and first value
// wins. config.go parses; eval.go evaluates.
package sshconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Line is one keyword line of an ssh_config file.
type Line struct {
	File string
	Line int
	Key  string   // keyword, lower case
	Args []string // arguments, unquoted, up to a # comment
	Raw  string   // the text after the keyword and its separator (for ProxyCommand)
}

// Config is the ssh_config files to read, in precedence order. Files are
// parsed on first use and cached; Include targets are parsed when a node's
// evaluation reaches them. It is safe for concurrent use.
type Config struct {
	top []source

	mu    sync.Mutex
	files map[string]*parsedFile
}

// source is a top-level config file: user files resolve relative Include
// paths against ~/.ssh, the system file against /etc/ssh.
type source struct {
	path string
	user bool
}

type parsedFile struct {
	lines []Line
	err   error // reading failed (other than not existing)
}

// systemConfigFile is OpenSSH's system-wide client configuration.
const systemConfigFile = "/etc/ssh/ssh_config"

// maxIncludeDepth is OpenSSH's READCONF_MAX_DEPTH.
const maxIncludeDepth = 16

// Load chooses the ssh_config files by configFile, as ssh -F: "" = the
// user's file (home/.ssh/config) then the system file, "none" = nothing, else
// that file alone, which must exist and be readable. Files are read when a
// host is evaluated (see Eval).
func Load(configFile, home string) (*Config, error) {
	c := &Config{files: map[string]*parsedFile{}}
	switch configFile {
	case "none":
	case "":
		c.top = []source{{filepath.Join(home, ".ssh", "config"), true}, {systemConfigFile, false}}
	default:
		p := ExpandTilde(configFile, home)
		if _, err := os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("nodes: ssh_config: %w", err)
		}
		c.top = []source{{p, true}}
	}
	return c, nil
}

// file returns the parsed lines of path; a missing file has none.
func (c *Config) file(path string, bad func(file string, line int, format string, args ...any)) *parsedFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.files[path]; ok {
		return f
	}
	f := &parsedFile{}
	if st, err := os.Stat(path); err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0 {
		// Reading a FIFO would wait for a writer forever.
		f.err = errors.New("not a regular file")
		c.files[path] = f
		return f
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		f.err = err
	default:
		f.lines = parseConfig(path, string(data), bad)
	}
	c.files[path] = f
	return f
}

// parseConfig splits an ssh_config file into keyword lines. A line that
// cannot be split (an unterminated quote) is reported through bad and
// skipped, as OpenSSH would refuse it.
func parseConfig(path, data string, bad func(file string, line int, format string, args ...any)) []Line {
	var out []Line
	for i, text := range strings.Split(data, "\n") {
		n := i + 1
		text = strings.TrimRight(text, "\r")
		s := strings.TrimLeft(text, " \t")
		if s == "" || s[0] == '#' {
			continue
		}
		// The keyword ends at blank or '='; one '=' may separate it from
		// the value, surrounded by blanks.
		end := strings.IndexAny(s, " \t=")
		if end < 0 {
			end = len(s)
		}
		key := strings.ToLower(s[:end])
		rest := strings.TrimLeft(s[end:], " \t")
		if strings.HasPrefix(rest, "=") {
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		rest = strings.TrimRight(rest, " \t")
		args, err := SplitArgs(rest)
		if err != nil {
			bad(path, n, "ignoring %s: %v", key, err)
			continue
		}
		out = append(out, Line{File: path, Line: n, Key: key, Args: args, Raw: rest})
	}
	return out
}

// SplitArgs is OpenSSH's argv_split with comments terminating: blanks
// separate arguments, "double" and 'single' quotes group, a backslash escapes
// a quote, a backslash or (outside quotes) a blank, and an argument starting
// with # ends the line.
func SplitArgs(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		if s[i] == '#' {
			break
		}
		var b strings.Builder
		var quote byte
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				nx := s[i+1]
				if nx == '\'' || nx == '"' || nx == '\\' || (quote == 0 && (nx == ' ' || nx == '\t')) {
					i++
					b.WriteByte(nx)
					continue
				}
				b.WriteByte(c)
				continue
			}
			if quote == 0 && (c == ' ' || c == '\t') {
				break
			}
			if quote == 0 && (c == '"' || c == '\'') {
				quote = c
				continue
			}
			if quote != 0 && c == quote {
				quote = 0
				continue
			}
			b.WriteByte(c)
		}
		if quote != 0 {
			return nil, errors.New("unterminated quoted string")
		}
		out = append(out, b.String())
	}
	return out, nil
}
