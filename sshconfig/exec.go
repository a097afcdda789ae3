package sshconfig

import (
	"context"
	"time"
)

// execTimeout bounds one Match exec command.
const execTimeout = 30 * time.Second

// matchExec runs a Match exec command (% tokens expanded) through Env.Exec
// (ShellExec by default); exit status 0 matches. A command that cannot run
// or runs longer than execTimeout does not match and is reported.
func (c *evalCtx) matchExec(l *Line, arg string) bool {
	cmd, err := ExpandTokens(arg, c.tokens())
	if err != nil {
		c.bad(l.File, l.Line, "Match exec: %v; treating it as not matching", err)
		return false
	}
	run := c.env.Exec
	if run == nil {
		run = ShellExec
	}
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	ok, err := run(ctx, cmd)
	switch {
	case ok && err == nil:
		return true
	case ctx.Err() != nil:
		c.env.logf("nodes: %s:%d: Match exec %q ran longer than %s; treating it as not matching", c.env.display(l.File), l.Line, cmd, execTimeout)
	case err == nil:
	default:
		c.env.logf("nodes: %s:%d: Match exec %q: %v", c.env.display(l.File), l.Line, cmd, err)
	}
	return false
}
