package nodes

import (
	"fmt"
	"os"
	"strings"

	"github.com/drove-dev/drove/internal/sshpattern"
	"github.com/drove-dev/drove/sshconfig"
)

// resolveSession sets the options that shape sessions and drove's own
// messages: SetEnv, SendEnv, ForwardAgent, BatchMode, AddKeysToAgent and
// LogLevel.
func (d *Dialer) resolveSession(t *Target, cfg *sshconfig.Values, note func(key, val string, err error)) {
	// SetEnv: the first line wins whole; a name repeated in it keeps its
	// first value.
	seen := map[string]bool{}
	for _, kv := range cfg.GetArgs("SetEnv") {
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
	for _, l := range cfg.Lines() {
		if l.Key != "sendenv" {
			continue
		}
		for _, p := range l.Args {
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
	if v := cfg.Get("ForwardAgent"); v != "" {
		b, ok := sshconfig.ParseYesNo(v)
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
				t.ForwardAgentSocket = sshconfig.ExpandTilde(v, d.home)
			}
		}
	}
	if v := cfg.Get("BatchMode"); v != "" {
		if b, ok := sshconfig.ParseYesNo(v); ok {
			t.BatchMode = b
		} else {
			note("BatchMode", v, fmt.Errorf("want yes or no"))
		}
	}
	t.AddKeysToAgent = "no"
	if v := cfg.Get("AddKeysToAgent"); v != "" {
		t.AddKeysToAgent = strings.ToLower(v)
		if t.AddKeysToAgent != "no" {
			note("AddKeysToAgent", v, fmt.Errorf("drove never adds keys to the agent"))
		}
	}
	t.LogLevel = "INFO"
	if v := cfg.Get("LogLevel"); v != "" {
		if lv, ok := sshconfig.ParseLogLevel(v); ok {
			t.LogLevel = lv
		} else {
			note("LogLevel", v, fmt.Errorf("want QUIET, FATAL, ERROR, INFO, VERBOSE or DEBUG[1-3]"))
		}
	}
}
