# The oracle of topology's tests: ClusterShell's own parser and router.
# Reads a JSON list of {"path", "root", "nodes"} on stdin; writes a JSON list
# of {"error": TEXT} or {"routes": {NODE: [[GATEWAY...]...]}}, where each
# route is the sets of next hops from the root down, as ClusterShell's
# PropagationTreeRouter resolves them at the root and then at the first
# gateway of each set (as a gateway does with the tree it is sent).
import json
import sys

from ClusterShell.NodeSet import NodeSet
from ClusterShell.Propagation import PropagationTreeRouter
from ClusterShell.Topology import TopologyParser


def routes(path, root, nodes):
    try:
        tree = TopologyParser(path).tree(root)
    except Exception as e:  # noqa: BLE001 - every refusal counts
        return {"error": "%s: %s" % (type(e).__name__, e)}
    out = {}
    for n in nodes:
        route = []
        r = PropagationTreeRouter(str(tree.root.nodeset), tree)
        for _ in range(64):
            hop = None
            for dest, nexthops in r.table:
                if n in dest:
                    hop = nexthops
                    break
                if n in nexthops:
                    break
            if hop is None:
                break
            route.append(sorted(hop))
            r = PropagationTreeRouter(str(NodeSet(hop[0])), tree)
        out[n] = route
    return {"routes": out}


print(json.dumps([routes(q["path"], q["root"], q["nodes"]) for q in json.load(sys.stdin)]))
