package nodes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/internal/sshpattern"
)

// cfgValues is ssh_config evaluated for one host: the active lines in file
// order. The first active line for a keyword gives its value (OpenSSH's
// first-value-wins); accumulating keywords (IdentityFile, CertificateFile,
// SendEnv) use every active line.
type cfgValues struct {
	lines []*cfgLine
	first map[string]*cfgLine
}

func (v *cfgValues) add(l *cfgLine) {
	v.lines = append(v.lines, l)
	if _, ok := v.first[l.key]; !ok {
		v.first[l.key] = l
	}
}

// get returns the first argument of the first active line for key, or "".
func (v *cfgValues) get(key string) string {
	l := v.first[strings.ToLower(key)]
	if l == nil || len(l.args) == 0 {
		return ""
	}
	return l.args[0]
}

// getArgs returns every argument of the first active line for key.
func (v *cfgValues) getArgs(key string) []string {
	if l := v.first[strings.ToLower(key)]; l != nil {
		return l.args
	}
	return nil
}

// getLine returns the first active line for key, or nil.
func (v *cfgValues) getLine(key string) *cfgLine { return v.first[strings.ToLower(key)] }

// getAll returns the first argument of every active line for key, in order.
func (v *cfgValues) getAll(key string) []string {
	key = strings.ToLower(key)
	var out []string
	for _, l := range v.lines {
		if l.key == key && len(l.args) > 0 {
			out = append(out, l.args[0])
		}
	}
	return out
}

// evalCtx is what Host and Match lines are matched against.
type evalCtx struct {
	d        *Dialer
	origHost string // the host as written
	user     string // the spec's user@, "" = none
	port     int    // the spec's :port, 0 = none
	values   *cfgValues
	included int  // files included so far (bounded by maxIncludedFiles)
	final    bool // this is the final pass (Match final and canonical hold)
	// wantFinal: a "Match final" line was seen, so a final pass follows.
	wantFinal bool
}

// maxIncludedFiles bounds the files one evaluation includes: files that
// include each other by glob would otherwise be read n^16 times before
// OpenSSH's depth limit stops them.
const maxIncludedFiles = 1024

// evalConfig evaluates every config file for the host of spec, as OpenSSH's
// read_config_file does (twice when a Match final asks for a final pass),
// and returns the active lines.
func (d *Dialer) evalConfig(spec hostlist.Spec) *cfgValues {
	ctx := &evalCtx{d: d, origHost: spec.Host, user: spec.User, port: spec.Port,
		values: &cfgValues{first: map[string]*cfgLine{}}}
	for _, src := range d.cfg.top {
		active := true
		ctx.readFile(src.path, src.user, &active, false, 0)
	}
	if ctx.wantFinal {
		// As ssh: the files are read again with what the first pass set
		// kept (first value wins), now with Match final and canonical true.
		ctx.final, ctx.included = true, 0
		for _, src := range d.cfg.top {
			active := true
			ctx.readFile(src.path, src.user, &active, false, 0)
		}
	}
	return ctx.values
}

// bad reports a problem with a config line once per Dialer.
func (d *Dialer) badConfig(file string, line int, format string, args ...any) {
	d.noteOnce(fmt.Sprintf("ssh_config:%s:%d:%s", file, line, format),
		"nodes: %s:%d: "+format, append([]any{d.display(file), line}, args...)...)
}

func (c *evalCtx) readFile(path string, userConf bool, active *bool, neverMatch bool, depth int) {
	f := c.d.cfg.file(path, c.d.badConfig)
	if f.err != nil {
		c.d.noteOnce("ssh_config-read:"+path, "nodes: ignoring ssh_config %s: %v", c.d.display(path), f.err)
		return
	}
	for i := range f.lines {
		l := &f.lines[i]
		switch l.key {
		case "host":
			*active = !neverMatch && c.matchHost(l)
		case "match":
			ok := c.matchLine(l)
			*active = !neverMatch && ok
		case "include":
			if depth+1 > maxIncludeDepth {
				c.d.badConfig(l.file, l.line, "Include nested too deeply (more than %d)", maxIncludeDepth)
				continue
			}
			outer := *active
			for _, p := range c.includePaths(l, userConf) {
				if c.included++; c.included > maxIncludedFiles {
					c.d.badConfig(l.file, l.line, "more than %d files included; ignoring the rest", maxIncludedFiles)
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
			if !knownKeyword(l.key) {
				if c.ignoredUnknown(l.key) {
					continue
				}
				c.d.badConfig(l.file, l.line, "ignoring unknown ssh_config option %q", l.key)
				continue
			}
			if why, ok := reportNotHonoured(l); ok {
				c.d.badConfig(l.file, l.line, "drove ignores %s (%s)", l.key, why)
			}
			c.values.add(l)
		}
	}
}

// ignoredUnknown reports whether an active IgnoreUnknown pattern list names
// key.
func (c *evalCtx) ignoredUnknown(key string) bool {
	pats := c.values.getArgs("ignoreunknown")
	return len(pats) > 0 && sshpattern.MatchList(key, strings.Split(strings.Join(pats, ","), ","), true) == 1
}

// matchHost is a Host line: a pattern matching the host as written activates
// the block, a matching !pattern vetoes it.
func (c *evalCtx) matchHost(l *cfgLine) bool {
	active := false
	for _, p := range l.args {
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
	if v := c.values.get("hostname"); v != "" {
		if h, err := expandTokens(v, map[byte]string{'h': c.origHost}); err == nil {
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
	if v := c.values.get("user"); v != "" {
		return v
	}
	return c.d.localUser
}

func (c *evalCtx) curPort() string {
	if c.port != 0 {
		return strconv.Itoa(c.port)
	}
	if v := c.values.get("port"); v != "" {
		return v
	}
	return "22"
}

// matchLine evaluates a Match line as OpenSSH's match_cfg_line: every
// criterion must hold; !negates one; canonical and final hold in the final
// pass. Criteria drove cannot evaluate (localnetwork, tagged, command,
// sessiontype, version, and anything unknown) make the block inactive and
// are reported once.
func (c *evalCtx) matchLine(l *cfgLine) bool {
	args := l.args
	if len(args) == 0 {
		c.d.badConfig(l.file, l.line, "ignoring Match block: no criteria")
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
				c.d.badConfig(l.file, l.line, "ignoring Match block: 'all' cannot be combined with other Match attributes")
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
				c.d.badConfig(l.file, l.line, "ignoring Match block: missing argument for %q", attr)
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
			r = sshpattern.MatchList(c.d.localUser, strings.Split(arg, ","), false) == 1
		case "exec":
			if !result {
				continue // OpenSSH skips exec once an earlier criterion failed
			}
			r = c.matchExec(l, arg)
		default:
			c.d.badConfig(l.file, l.line, "ignoring Match block: drove cannot evaluate Match %s", name)
			return false
		}
		if r == neg {
			result = false
		}
	}
	return result
}

// execTimeout bounds one Match exec command.
const execTimeout = 30 * time.Second

// matchExec runs a Match exec command (% tokens expanded) with $SHELL (else
// /bin/sh) -c, stdin and stdout on /dev/null, as OpenSSH does (stderr
// discarded); exit status 0
// matches. A command that cannot run or runs longer than execTimeout does not
// match and is reported.
func (c *evalCtx) matchExec(l *cfgLine, arg string) bool {
	cmd, err := expandTokens(arg, c.tokens())
	if err != nil {
		c.d.badConfig(l.file, l.line, "Match exec: %v; treating it as not matching", err)
		return false
	}
	shell := os.Getenv("SHELL")
	if shell == "" {
		shell = "/bin/sh"
	}
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	x := exec.CommandContext(ctx, shell, "-c", cmd)
	x.WaitDelay = time.Second
	err = x.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true
	case ctx.Err() != nil:
		c.d.logf("nodes: %s:%d: Match exec %q ran longer than %s; treating it as not matching", c.d.display(l.file), l.line, cmd, execTimeout)
	case errors.As(err, &ee):
	default:
		c.d.logf("nodes: %s:%d: Match exec %q: %v", c.d.display(l.file), l.line, cmd, err)
	}
	return false
}

// tokens are the % tokens of Match exec and Include as evaluation stands.
func (c *evalCtx) tokens() map[byte]string {
	short, _, _ := strings.Cut(c.d.localHost, ".")
	return map[byte]string{
		'h': c.curHost(), 'n': c.origHost, 'p': c.curPort(), 'r': c.curUser(),
		'u': c.d.localUser, 'd': c.d.home, 'i': strconv.Itoa(os.Getuid()),
		'L': short, 'l': c.d.localHost,
	}
}

// includePaths expands an Include line: ~ and % tokens, relative paths under
// ~/.ssh (user files) or /etc/ssh (the system file), globs sorted.
func (c *evalCtx) includePaths(l *cfgLine, userConf bool) []string {
	var out []string
	for _, a := range l.args {
		p, err := expandTokens(a, c.tokens())
		if err != nil {
			c.d.badConfig(l.file, l.line, "ignoring Include %q: %v", a, err)
			continue
		}
		p = expandTilde(p, c.d.home)
		if !filepath.IsAbs(p) {
			if userConf {
				p = filepath.Join(c.d.home, ".ssh", p)
			} else {
				p = filepath.Join("/etc/ssh", p)
			}
		}
		m, err := filepath.Glob(p)
		if err != nil {
			c.d.badConfig(l.file, l.line, "ignoring Include %q: %v", a, err)
			continue
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out
}
