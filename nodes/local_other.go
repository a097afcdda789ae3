//go:build !windows

package nodes

// localJobs says whether this machine can run jobs as the ":" node.
const localJobs = true
