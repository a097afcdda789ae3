package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/nodes"
)

// dryRun prints the defaults taken from config files, the resolved node
// list and the jobs that would run, without connecting to anything.
func (c *RunCmd) dryRun(e *env, specs []hostlist.Spec, d *nodes.Dialer, src jobs.Source) error {
	w := e.stdout
	if c.defaults != nil && len(c.defaults.applied) > 0 {
		fmt.Fprintln(w, "# defaults from config files (the command line overrides them)")
		for _, a := range c.defaults.applied {
			fmt.Fprintf(w, "--%s=%s\tfrom %s\n", a.Flag, a.Value, a.Where)
		}
	}
	fmt.Fprintln(w, "# nodes")
	for _, sp := range specs {
		if sp.Local() {
			fmt.Fprintf(w, "local\tslots=%d\tthis machine (sh -c, no SSH)\n", sp.Slots)
			continue
		}
		if via := c.routes.describe(sp); via != "" {
			fmt.Fprintf(w, "%s\tslots=%d\tvia=%s\t(resolved by the last gateway's ssh_config)\n", sp.Key(), sp.Slots, via)
			continue
		}
		t, err := d.Resolve(sp)
		if err != nil {
			fmt.Fprintf(w, "%s\tslots=%d\tcannot resolve: %v\n", sp.Key(), sp.Slots, err)
			continue
		}
		jump := "none"
		if len(t.Jump) > 0 {
			var hops []string
			for _, h := range t.Jump {
				hops = append(hops, fmt.Sprintf("%s@%s", h.User, h.Addr()))
			}
			jump = strings.Join(hops, ",")
		}
		fmt.Fprintf(w, "%s\tuser=%s\taddress=%s\tport=%d\tslots=%d\tjump=%s\tidentities=%s\thost-keys=%s\n",
			sp.Key(), t.User, t.HostName, t.Port, sp.Slots, jump, strings.Join(t.IdentityFiles, ","), t.StrictHostKeyChecking)
		settings, _ := d.Explain(sp)
		for _, s := range settings {
			fmt.Fprintf(w, "\t%s\n", s)
		}
	}
	if c.OnEachNode != "" {
		fmt.Fprintf(w, "# on each node\n%s\n", c.OnEachNode)
		return nil
	}
	fmt.Fprintln(w, "# jobs")
	n := 0
	for {
		j, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return usageErrorf("%v", err)
		}
		n++
		fmt.Fprintf(w, "%s\n", j.Cmd)
	}
	fmt.Fprintf(e.stderr, "drove: dry run: %d nodes, %d jobs would run\n", len(specs), n)
	return nil
}
