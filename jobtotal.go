package main

import "github.com/drove-dev/drove/jobs"

// countJobs counts the jobs the run will read, for the status line's
// total (every job file a regular file: see jobsAreFinite), less those
// skip leaves out (--resume).
func (c *RunCmd) countJobs(skip func(jobs.Job) bool) (n int, ok bool) {
	return jobs.Count(c.Job, c.JobFile, skip)
}
