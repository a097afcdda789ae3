//go:build !windows

package hostlist

// localJobs says whether this machine can run jobs as the ":" node.
const localJobs = true
