package main

// RunCmd is the default command: run jobs across nodes (placeholder).
type RunCmd struct {
	Node []string `short:"n" sep:"none" placeholder:"SPEC" help:"A node: [K/][user@]host[:port]; ':' is this machine. Repeatable."`
}

// Run runs the jobs.
func (c *RunCmd) Run(e *env) error { return usageErrorf("not implemented yet") }
