package nodes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// drove reads ssh_config itself rather than through kevinburke/ssh_config:
// that library rejects a whole file at the first Match criterion other than
// all/host, and its Host-keyed lookup cannot evaluate Match blocks in file
// order against values set by earlier lines (Match host sees the HostName
// set so far, Match user the User), nor say which file:line a value came from
// (drove --dry-run shows that). OpenSSH's own model is small: a stream of
// lines, an "active" flag that Host and Match lines set, and first value
// wins. This file parses; match.go evaluates.

// cfgLine is one keyword line of an ssh_config file.
type cfgLine struct {
	file string
	line int
	key  string   // keyword, lower case
	args []string // arguments, unquoted, up to a # comment
	raw  string   // the text after the keyword and its separator (for ProxyCommand)
}

// origin is "file:line".
func (l *cfgLine) origin() string { return fmt.Sprintf("%s:%d", l.file, l.line) }

// sshConfig is the ssh_config files to read, in precedence order. Files are
// parsed on first use and cached; Include targets are parsed when a node's
// evaluation reaches them.
type sshConfig struct {
	top []cfgSource

	mu    sync.Mutex
	files map[string]*parsedFile
}

// cfgSource is a top-level config file: user files resolve relative Include
// paths against ~/.ssh, the system file against /etc/ssh.
type cfgSource struct {
	path string
	user bool
}

type parsedFile struct {
	lines []cfgLine
	err   error // reading failed (other than not existing)
}

// systemConfigFile is OpenSSH's system-wide client configuration.
const systemConfigFile = "/etc/ssh/ssh_config"

// maxIncludeDepth is OpenSSH's READCONF_MAX_DEPTH.
const maxIncludeDepth = 16

// loadSSHConfig chooses the ssh_config files by configFile ("" = the user's
// file then the system file, "none" = nothing, else that file alone, which
// must exist and be readable).
func loadSSHConfig(configFile, home string) (*sshConfig, error) {
	c := &sshConfig{files: map[string]*parsedFile{}}
	switch configFile {
	case "none":
	case "":
		c.top = []cfgSource{{filepath.Join(home, ".ssh", "config"), true}, {systemConfigFile, false}}
	default:
		p := expandTilde(configFile, home)
		if _, err := os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("nodes: ssh_config: %w", err)
		}
		c.top = []cfgSource{{p, true}}
	}
	return c, nil
}

// file returns the parsed lines of path; a missing file has none.
func (c *sshConfig) file(path string, bad func(file string, line int, format string, args ...any)) *parsedFile {
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
func parseConfig(path, data string, bad func(file string, line int, format string, args ...any)) []cfgLine {
	var out []cfgLine
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
		args, err := splitConfigArgs(rest)
		if err != nil {
			bad(path, n, "ignoring %s: %v", key, err)
			continue
		}
		out = append(out, cfgLine{file: path, line: n, key: key, args: args, raw: rest})
	}
	return out
}

// splitConfigArgs is OpenSSH's argv_split with comments terminating: blanks
// separate arguments, "double" and 'single' quotes group, a backslash escapes
// a quote, a backslash or (outside quotes) a blank, and an argument starting
// with # ends the line.
func splitConfigArgs(s string) ([]string, error) {
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

// expandTilde replaces a leading "~" or "~/" with home. "~user" is left alone.
func expandTilde(s, home string) string {
	if s == "~" {
		return home
	}
	if strings.HasPrefix(s, "~/") {
		return filepath.Join(home, s[2:])
	}
	return s
}

// abbrevHome shows a path under home as "~/...", for messages.
func abbrevHome(p, home string) string {
	if home == "" || home == "/" {
		return p
	}
	if rel, ok := strings.CutPrefix(p, strings.TrimSuffix(home, "/")+"/"); ok {
		return "~/" + rel
	}
	return p
}

// expandTokens replaces OpenSSH percent tokens (%h, %p, %r, %u, %d, %n, %l,
// %%) from tok. An unknown token is an error, as in OpenSSH.
func expandTokens(s string, tok map[byte]string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("trailing %% in %q", s)
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := tok[s[i]]
		if !ok {
			return "", fmt.Errorf("unknown token %%%c in %q", s[i], s)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}
