package nodes

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/drove-dev/drove/internal/sshpattern"
)

// resolveProxy sets t.ProxyCommand or t.Jump with OpenSSH's precedence
// (readconf.c): the first of ProxyCommand and ProxyJump that an active line
// sets wins, "none" included, except that a ProxyJump followed by a
// ProxyCommand other than none is OpenSSH's "inconsistent options" error.
// Options.Jump applies to a node (not a hop) whose config sets neither.
func (d *Dialer) resolveProxy(t *Target, cfg *cfgValues, tok map[byte]string, node string, path []string) error {
	var cmdLine, jumpLine *cfgLine
	for _, l := range cfg.lines {
		switch l.key {
		case "proxycommand":
			if cmdLine == nil {
				cmdLine = l
			}
		case "proxyjump":
			if cmdLine == nil && jumpLine == nil {
				jumpLine = l
			}
		}
	}
	if jumpLine != nil && strings.EqualFold(jumpLine.raw, "none") {
		jumpLine = nil
		if cmdLine == nil {
			return nil // explicit "ProxyJump none": no Options.Jump either
		}
	}
	if cmdLine != nil && strings.EqualFold(cmdLine.raw, "none") {
		if jumpLine == nil {
			return nil
		}
		cmdLine = nil
	}
	if cmdLine != nil && jumpLine != nil {
		return &ConfigError{Node: node, Err: fmt.Errorf("inconsistent ssh_config: ProxyJump (%s) and ProxyCommand (%s) both set, as ssh refuses",
			d.displayOrigin(jumpLine), d.displayOrigin(cmdLine))}
	}
	if cmdLine != nil {
		ptok := make(map[byte]string, len(tok)+2)
		for k, v := range tok {
			ptok[k] = v
		}
		ptok['i'] = strconv.Itoa(os.Getuid())
		short, _, _ := strings.Cut(d.localHost, ".")
		ptok['L'] = short
		c, err := expandTokens(cmdLine.raw, ptok)
		if err != nil {
			return &ConfigError{Node: node, Err: fmt.Errorf("ProxyCommand (%s): %w", d.displayOrigin(cmdLine), err)}
		}
		t.ProxyCommand = c
		return nil
	}
	jump := ""
	if jumpLine != nil {
		jump = jumpLine.raw
		if a, err := splitConfigArgs(jump); err == nil && len(a) > 0 {
			jump = a[0]
		}
	} else if path == nil {
		jump = d.opts.Jump
	}
	if jump == "" || strings.EqualFold(jump, "none") {
		return nil
	}
	hops := strings.Split(jump, ",")
	for i, h := range hops {
		hops[i] = strings.TrimPrefix(strings.TrimSpace(h), "ssh://")
	}
	t.ProxyJump = strings.Join(hops, ",")
	chain, err := d.resolveJump(node, jump, append(path, node))
	if err != nil {
		return err
	}
	t.Jump = chain
	return nil
}

// displayOrigin is "file:line" with ~ for the home directory.
func (d *Dialer) displayOrigin(l *cfgLine) string {
	return fmt.Sprintf("%s:%d", d.display(l.file), l.line)
}

// resolveSession sets the options that shape sessions and drove's own
// messages: SetEnv, SendEnv, ForwardAgent, BatchMode, AddKeysToAgent and
// LogLevel.
func (d *Dialer) resolveSession(t *Target, cfg *cfgValues, note func(key, val string, err error)) {
	// SetEnv: the first line wins whole; a name repeated in it keeps its
	// first value.
	seen := map[string]bool{}
	for _, kv := range cfg.getArgs("SetEnv") {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			note("SetEnv", kv, fmt.Errorf("want NAME=VALUE"))
			continue
		}
		if !seen[name] {
			seen[name] = true
			t.SetEnv = append(t.SetEnv, kv)
		}
	}
	// SendEnv accumulates; "-PATTERN" removes patterns given before.
	for _, l := range cfg.lines {
		if l.key != "sendenv" {
			continue
		}
		for _, p := range l.args {
			if rm, ok := strings.CutPrefix(p, "-"); ok {
				kept := t.SendEnv[:0]
				for _, x := range t.SendEnv {
					if !sshpattern.Match(x, rm) {
						kept = append(kept, x)
					}
				}
				t.SendEnv = kept
				continue
			}
			t.SendEnv = append(t.SendEnv, p)
		}
	}
	if v := cfg.get("ForwardAgent"); v != "" {
		b, ok := parseYesNo(v)
		switch {
		case ok:
			t.ForwardAgent = b
		default:
			// An agent socket path or $VAR, as in OpenSSH 8.2+.
			t.ForwardAgent = true
			t.ForwardAgentSocket = v
			if strings.HasPrefix(v, "$") {
				t.ForwardAgentSocket = os.Getenv(v[1:])
			} else {
				t.ForwardAgentSocket = expandTilde(v, d.home)
			}
		}
	}
	if v := cfg.get("BatchMode"); v != "" {
		if b, ok := parseYesNo(v); ok {
			t.BatchMode = b
		} else {
			note("BatchMode", v, fmt.Errorf("want yes or no"))
		}
	}
	t.AddKeysToAgent = "no"
	if v := cfg.get("AddKeysToAgent"); v != "" {
		t.AddKeysToAgent = strings.ToLower(v)
		if t.AddKeysToAgent != "no" {
			note("AddKeysToAgent", v, fmt.Errorf("drove never adds keys to the agent"))
		}
	}
	t.LogLevel = "INFO"
	if v := cfg.get("LogLevel"); v != "" {
		if lv, ok := parseLogLevel(v); ok {
			t.LogLevel = lv
		} else {
			note("LogLevel", v, fmt.Errorf("want QUIET, FATAL, ERROR, INFO, VERBOSE or DEBUG[1-3]"))
		}
	}
}

// logLevels are OpenSSH's LogLevel names, quietest first.
var logLevels = []string{"QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3"}

func parseLogLevel(v string) (string, bool) {
	for _, l := range logLevels {
		if strings.EqualFold(v, l) {
			if l == "DEBUG" {
				l = "DEBUG1"
			}
			return l, true
		}
	}
	return "", false
}

// hostLogf sends a note about t when t's LogLevel shows messages of level
// (INFO or VERBOSE; DEBUG1-3 show VERBOSE too).
func (d *Dialer) hostLogf(t *Target, level, format string, args ...any) {
	if logLevelRank(t.LogLevel) < logLevelRank(level) {
		return
	}
	d.logf(format, args...)
}

// logLevelRank orders LogLevel names; "" counts as INFO.
func logLevelRank(l string) int {
	if l == "" {
		l = "INFO"
	}
	for i, x := range logLevels {
		if x == l {
			return i
		}
	}
	return 3
}
