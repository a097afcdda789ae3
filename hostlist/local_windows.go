package hostlist

// localJobs says whether this machine can run jobs as the ":" node. On
// Windows it cannot: local jobs need a POSIX shell and process groups.
const localJobs = false
