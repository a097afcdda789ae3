package syncer

import (
	"errors"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/runner"
)

// Whose fault a failed copy is. A node is evicted only when it is broken;
// a copy that fails on a healthy node costs the partition an attempt, not
// the node (runner.Config.JobFault): the partition is retried on another
// node, or later on the same one, up to MaxAttempts attempts, while the
// node goes on copying the other partitions. A failed attempt is the
// partition's own when:
//
//   - its node is Local (drove's ':'): this machine is not broken by a
//     copy's exit, whatever killed it, and evicting it would leave the
//     run with no node to finish on;
//   - or its node answered with copy.sh's outcome line "failed N": the
//     copy tool ran there, its log open, and exited N, and N is not one
//     that says the tool cannot run on that node (toolCannotRun).
//
// Anything else (no outcome line: the node's shell died, the session
// was lost, the attempt timed out) is left to the runner: the node is
// presumed broken, as for any job.

// toolCannotRun reports whether status, the exit status of tool on a
// node, says that the tool cannot run there at all, whatever it copies:
// not installed (127) or not executable (126), and for rsync a syntax or
// usage error (1), a protocol incompatibility (2) or an unsupported
// action (4), which an rsync of another version on another node may not
// have; for rclone a syntax or usage error (2).
func toolCannotRun(tool copytool.Tool, status int) bool {
	switch status {
	case 126, 127:
		return true
	}
	if tool == copytool.Rclone {
		return status == 2
	}
	return status == 1 || status == 2 || status == 4
}

// jobFault is the runner.Config.JobFault of a run whose attempts report
// their outcomes to outs (see above).
func (m *migration) jobFault(outs *outcomes) func(runner.Event) bool {
	return func(ev runner.Event) bool {
		var ee *runner.ExitError
		var te *runner.TimeoutError
		if m.fleet.local(ev.Node) {
			return errors.As(ev.Err, &ee) || errors.As(ev.Err, &te)
		}
		if !errors.As(ev.Err, &ee) {
			return false
		}
		st := outs.peek(ev.Job.Seq, ev.Attempt).Failed
		return st != 0 && st == ee.Status && !toolCannotRun(m.o.Tool, st)
	}
}
