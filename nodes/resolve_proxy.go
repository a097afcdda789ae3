package nodes

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/drove-dev/drove/sshconfig"
)

// resolveProxy sets t.ProxyCommand or t.Jump with OpenSSH's precedence
// (readconf.c): the first of ProxyCommand and ProxyJump that an active line
// sets wins, "none" included, except that a ProxyJump followed by a
// ProxyCommand other than none is OpenSSH's "inconsistent options" error.
// Options.Jump applies to a node (not a hop) whose config sets neither.
func (d *Dialer) resolveProxy(t *Target, cfg *sshconfig.Values, tok map[byte]string, node string, path []string) error {
	var cmdLine, jumpLine *sshconfig.Line
	for _, l := range cfg.Lines() {
		switch l.Key {
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
	if jumpLine != nil && strings.EqualFold(jumpLine.Raw, "none") {
		jumpLine = nil
		if cmdLine == nil {
			return nil // explicit "ProxyJump none": no Options.Jump either
		}
	}
	if cmdLine != nil && strings.EqualFold(cmdLine.Raw, "none") {
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
		c, err := sshconfig.ExpandTokens(cmdLine.Raw, ptok)
		if err != nil {
			return &ConfigError{Node: node, Err: fmt.Errorf("ProxyCommand (%s): %w", d.displayOrigin(cmdLine), err)}
		}
		t.ProxyCommand = c
		return nil
	}
	jump := ""
	if jumpLine != nil {
		jump = jumpLine.Raw
		if a, err := sshconfig.SplitArgs(jump); err == nil && len(a) > 0 {
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
func (d *Dialer) displayOrigin(l *sshconfig.Line) string {
	return fmt.Sprintf("%s:%d", d.display(l.File), l.Line)
}
