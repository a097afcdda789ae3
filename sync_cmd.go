package main

import "context"

// SyncCmd is "drove sync" (being built).
type SyncCmd struct {
	Src string `arg:"" help:"Tree to copy."`
	Dst string `arg:"" help:"Where to copy it."`

	fleetFlags `embed:""`
}

// Run is not implemented yet.
func (c *SyncCmd) Run(ctx context.Context, e *env) error {
	return usageErrorf("sync: not implemented yet")
}
