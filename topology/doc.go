// Package topology reads ClusterShell's topology.conf: which machines
// reach which, as a tree of gateways rooted at the controller, and for
// each node the route to it (the gateways between the controller and the
// node, nearest the controller first).
//
// The file is ClusterShell's (an INI file read as Python's configparser
// reads it): a [routes] section (or [Main], its name before ClusterShell
// 1.7) of lines "NODESET: NODESET" (or "NODESET = NODESET"): the machines
// on the left reach those on the right. Node sets are written as drove's
// node lists (hostlist's ranges, nodeset's operators, @groups). The tree
// is rooted at the group that holds the controller's name; a node the tree
// does not hold below the controller is reached directly, as ClusterShell
// does. Parse refuses what ClusterShell's parser refuses (loops,
// convergent paths, overlapping sources and destinations, duplicate keys,
// lines outside a section) with an *Error naming the file and line. It
// also refuses a few files ClusterShell accepts but cannot mean what they
// say: see Parse.
package topology
