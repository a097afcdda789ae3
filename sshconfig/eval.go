package sshconfig

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/drove-dev/drove/internal/sshpattern"
)

// Values is ssh_config evaluated for one host: the active lines in file
// order. The first active line for a keyword gives its value (OpenSSH's
// first-value-wins); accumulating keywords (IdentityFile, CertificateFile,
// SendEnv) use every active line.
type Values struct {
	lines []*Line
	first map[string]*Line
}

func (v *Values) add(l *Line) {
	v.lines = append(v.lines, l)
	if _, ok := v.first[l.Key]; !ok {
		v.first[l.Key] = l
	}
}

// Lines returns the active lines, in evaluation order.
func (v *Values) Lines() []*Line { return v.lines }

// Get returns the first argument of the first active line for key, or "".
func (v *Values) Get(key string) string {
	l := v.first[strings.ToLower(key)]
	if l == nil || len(l.Args) == 0 {
		return ""
	}
	return l.Args[0]
}

// GetArgs returns every argument of the first active line for key.
func (v *Values) GetArgs(key string) []string {
	if l := v.first[strings.ToLower(key)]; l != nil {
		return l.Args
	}
	return nil
}

// GetLine returns the first active line for key, or nil.
func (v *Values) GetLine(key string) *Line { return v.first[strings.ToLower(key)] }

// GetAll returns the first argument of every active line for key, in order.
func (v *Values) GetAll(key string) []string {
	key = strings.ToLower(key)
	var out []string
	for _, l := range v.lines {
		if l.Key == key && len(l.Args) > 0 {
			out = append(out, l.Args[0])
		}
	}
	return out
}

// evalCtx is what Host and Match lines are matched against.
type evalCtx struct {
	cfg      *Config
	env      *Env
	origHost string // the host as written
	user     string // the spec's user@, "" = none
	port     int    // the spec's :port, 0 = none
	values   *Values
	included int  // files included so far (bounded by maxIncludedFiles)
	final    bool // this is the final pass (Match final and canonical hold)
	// wantFinal: a "Match final" line was seen, so a final pass follows.
	wantFinal bool
}

// maxIncludedFiles bounds the files one evaluation includes: files that
// include each other by glob would otherwise be read n^16 times before
// OpenSSH's depth limit stops them.
const maxIncludedFiles = 1024

// Eval evaluates every config file for host as written (with the user@ and
// :port written with it: "" and 0 = none), as OpenSSH's read_config_file does
// (twice when a Match final asks for a final pass), and returns the active
// lines. Problems with lines are reported through env, once per file:line
// and message.
func (c *Config) Eval(env *Env, host, user string, port int) *Values {
	ctx := &evalCtx{cfg: c, env: env, origHost: host, user: user, port: port,
		values: &Values{first: map[string]*Line{}}}
	for _, src := range c.top {
		active := true
		ctx.readFile(src.path, src.user, &active, false, 0)
	}
	if ctx.wantFinal {
		// As ssh: the files are read again with what the first pass set
		// kept (first value wins), now with Match final and canonical true.
		ctx.final, ctx.included = true, 0
		for _, src := range c.top {
			active := true
			ctx.readFile(src.path, src.user, &active, false, 0)
		}
	}
	return ctx.values
}

// bad reports a problem with a config line, once per file:line and format.
func (c *evalCtx) bad(file string, line int, format string, args ...any) {
	c.env.noteOnce(fmt.Sprintf("ssh_config:%s:%d:%s", file, line, format),
		"nodes: %s:%d: "+format, append([]any{c.env.display(file), line}, args...)...)
}

func (c *evalCtx) readFile(path string, userConf bool, active *bool, neverMatch bool, depth int) {
	f := c.cfg.file(path, c.bad)
	if f.err != nil {
		c.env.noteOnce("ssh_config-read:"+path, "nodes: ignoring ssh_config %s: %v", c.env.display(path), f.err)
		return
	}
	for i := range f.lines {
		l := &f.lines[i]
		switch l.Key {
		case "host":
			*active = !neverMatch && c.matchHost(l)
		case "match":
			ok := c.matchLine(l)
			*active = !neverMatch && ok
		case "include":
			if depth+1 > maxIncludeDepth {
				c.bad(l.File, l.Line, "Include nested too deeply (more than %d)", maxIncludeDepth)
				continue
			}
			outer := *active
			for _, p := range c.includePaths(l, userConf) {
				if c.included++; c.included > maxIncludedFiles {
					c.bad(l.File, l.Line, "more than %d files included; ignoring the rest", maxIncludedFiles)
					break
				}
				c.readFile(p, userConf, active, neverMatch || !outer, depth+1)
				// Match and Host lines in an included file do not
				// change the including file's state, nor the next
				// included file's.
				*active = outer
			}
		default:
			if !*active {
				continue
			}
			if !knownKeyword(l.Key) {
				if c.ignoredUnknown(l.Key) {
					continue
				}
				c.bad(l.File, l.Line, "ignoring unknown ssh_config option %q", l.Key)
				continue
			}
			if why, ok := reportNotHonoured(l); ok {
				c.bad(l.File, l.Line, "drove ignores %s (%s)", l.Key, why)
			}
			c.values.add(l)
		}
	}
}

// ignoredUnknown reports whether an active IgnoreUnknown pattern list names
// key.
func (c *evalCtx) ignoredUnknown(key string) bool {
	pats := c.values.GetArgs("ignoreunknown")
	return len(pats) > 0 && sshpattern.MatchList(key, strings.Split(strings.Join(pats, ","), ","), true) == 1
}

// matchHost is a Host line: a pattern matching the host as written activates
// the block, a matching !pattern vetoes it.
func (c *evalCtx) matchHost(l *Line) bool {
	active := false
	for _, p := range l.Args {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if sshpattern.MatchList(c.origHost, []string{p}, false) == 1 {
			if neg {
				return false
			}
			active = true
		}
	}
	return active
}

// curHost is the host name Match host sees: HostName as set so far with %h
// expanded, else the host as written.
func (c *evalCtx) curHost() string {
	if v := c.values.Get("hostname"); v != "" {
		if h, err := ExpandTokens(v, map[byte]string{'h': c.origHost}); err == nil {
			return h
		}
	}
	return c.origHost
}

// curUser is the remote user Match user sees: the spec's, else User as set
// so far, else the local user.
func (c *evalCtx) curUser() string {
	if c.user != "" {
		return c.user
	}
	if v := c.values.Get("user"); v != "" {
		return v
	}
	return c.env.LocalUser
}

func (c *evalCtx) curPort() string {
	if c.port != 0 {
		return strconv.Itoa(c.port)
	}
	if v := c.values.Get("port"); v != "" {
		return v
	}
	return "22"
}

// matchLine evaluates a Match line as OpenSSH's match_cfg_line: every
// criterion must hold; !negates one; canonical and final hold in the final
// pass. Criteria drove cannot evaluate (localnetwork, tagged, command,
// sessiontype, version, and anything unknown) make the block inactive and
// are reported once.
func (c *evalCtx) matchLine(l *Line) bool {
	args := l.Args
	if len(args) == 0 {
		c.bad(l.File, l.Line, "ignoring Match block: no criteria")
		return false
	}
	result := true
	attributes := 0
	for i := 0; i < len(args); i++ {
		attr := args[i]
		neg := strings.HasPrefix(attr, "!")
		if neg {
			attr = attr[1:]
		}
		name := strings.ToLower(attr)
		var arg string
		if k, v, ok := strings.Cut(attr, "="); ok {
			name, arg = strings.ToLower(k), v
		}
		if name == "all" {
			if attributes > 0 || i+1 < len(args) {
				c.bad(l.File, l.Line, "ignoring Match block: 'all' cannot be combined with other Match attributes")
				return false
			}
			return !neg && result
		}
		attributes++
		switch name {
		case "canonical", "final":
			// drove does not canonicalize host names, so, as with ssh
			// without CanonicalizeHostname, both hold only in the final
			// pass, which a "Match final" asks for.
			if name == "final" && !neg {
				c.wantFinal = true
			}
			if c.final == neg {
				result = false
			}
			continue
		}
		if arg == "" && !strings.Contains(attr, "=") {
			if i+1 >= len(args) {
				c.bad(l.File, l.Line, "ignoring Match block: missing argument for %q", attr)
				return false
			}
			i++
			arg = args[i]
		}
		var r bool
		switch name {
		case "host":
			r = sshpattern.MatchList(c.curHost(), strings.Split(arg, ","), true) == 1
		case "originalhost":
			r = sshpattern.MatchList(c.origHost, strings.Split(arg, ","), true) == 1
		case "user":
			r = sshpattern.MatchList(c.curUser(), strings.Split(arg, ","), false) == 1
		case "localuser":
			r = sshpattern.MatchList(c.env.LocalUser, strings.Split(arg, ","), false) == 1
		case "exec":
			if !result {
				continue // OpenSSH skips exec once an earlier criterion failed
			}
			r = c.matchExec(l, arg)
		default:
			c.bad(l.File, l.Line, "ignoring Match block: drove cannot evaluate Match %s", name)
			return false
		}
		if r == neg {
			result = false
		}
	}
	return result
}

// tokens are the % tokens of Match exec and Include as evaluation stands.
func (c *evalCtx) tokens() map[byte]string {
	short, _, _ := strings.Cut(c.env.LocalHost, ".")
	return map[byte]string{
		'h': c.curHost(), 'n': c.origHost, 'p': c.curPort(), 'r': c.curUser(),
		'u': c.env.LocalUser, 'd': c.env.Home, 'i': strconv.Itoa(c.env.UID),
		'L': short, 'l': c.env.LocalHost,
	}
}

// includePaths expands an Include line: ~ and % tokens, relative paths under
// ~/.ssh (user files) or /etc/ssh (the system file), globs sorted.
func (c *evalCtx) includePaths(l *Line, userConf bool) []string {
	var out []string
	for _, a := range l.Args {
		p, err := ExpandTokens(a, c.tokens())
		if err != nil {
			c.bad(l.File, l.Line, "ignoring Include %q: %v", a, err)
			continue
		}
		p = ExpandTilde(p, c.env.Home)
		if !filepath.IsAbs(p) {
			if userConf {
				p = filepath.Join(c.env.Home, ".ssh", p)
			} else {
				p = filepath.Join("/etc/ssh", p)
			}
		}
		m, err := filepath.Glob(p)
		if err != nil {
			c.bad(l.File, l.Line, "ignoring Include %q: %v", a, err)
			continue
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out
}
