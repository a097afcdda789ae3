// Package hostlist parses the node lists a user writes and watches node
// files; it knows nothing of SSH.
//
// A node is written [K/][user@]host[:port] (clstr syntax): K is the number of
// job slots (default 1), ":" is this machine (no SSH), IPv6 literals are
// written [::1] or [::1]:2222. ParseSpec parses one spec; ParseList a
// comma-separated list of specs with host ranges (node[01-64],
// rack[1-2]-n[01-16], a Slurm node list); ParseFile a file of one spec or
// list per line (# comments, blank lines and CRLF allowed). Each returns the
// specs in order, unmerged: a parsed list is a []Spec. Merge folds repeated
// nodes into one with their slots summed, and Fold writes host names back in
// range form. Bad input gives a *SpecError naming file and line. A Watcher
// re-reads node files during a run.
package hostlist
