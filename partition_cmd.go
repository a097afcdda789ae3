package main

// PartitionCmd is `drove partition`: see partition/ (placeholder, being built).
type PartitionCmd struct {
	Src string `arg:"" help:"Tree to crawl."`
	Dst string `arg:"" optional:"" help:"Destination for the generated copy jobs."`
}

// Run crawls and prints job lines.
func (c *PartitionCmd) Run(e *env) error {
	return usageErrorf("partition: not implemented yet")
}
