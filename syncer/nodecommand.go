package syncer

import (
	"strings"
	"time"
)

// logDateLayout is date -u's default output in the C locale, as copy.sh's
// log header gives it when drove does not (Go's reference time).
const logDateLayout = "Mon Jan _2 15:04:05 UTC 2006"

// nodeCommand is the text node n runs for a job's text cmd, as an attempt
// starts: on a Local node what localCommand makes of it; and a copy job
// (copy.sh) gets, in its environment, the attempt's start for its log
// header (drove_date) and what an earlier copy on n reported of n's rsync
// (drove_rsync, empty until one did), each saving the copy a process on
// the node.
// Other texts (the visibility check, the cleanup) are run as they are.
func (m *migration) nodeCommand(n Node, rsync, cmd string) string {
	if n.Local {
		cmd = m.localCommand(cmd)
	}
	if !strings.HasPrefix(cmd, m.copyPrefix) {
		return cmd
	}
	switch rsync {
	case rsyncTrustSender, rsyncPlain:
	default:
		rsync = "" // unknown: set empty, so that a node's own environment cannot say
	}
	return "drove_date='" + time.Now().UTC().Format(logDateLayout) + "' drove_rsync=" + rsync + " " + cmd
}
