package syncer

import (
	"bytes"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/drove-dev/drove/jobs"
)

// A copy job (copy.sh) reports its outcome as lines on its stdout:
//
//	drove-outcome NONCE exit 23     rsync exited 23 (the job exits 0)
//	drove-outcome NONCE exit 24     rsync exited 24: a source vanished (the job exits 0)
//	drove-outcome NONCE exit 25     rsync stopped deleting at --max-delete (the job exits 0)
//	drove-outcome NONCE unconfined  rclone could not be confined to SRC: no mount namespace
//	drove-outcome NONCE unconfined mount  ... a mount namespace, but confine.sh failed in it (the log says why)
//	drove-outcome NONCE failed N    the copy ran and exited N (1-255; the job exits N)
//	drove-outcome NONCE kept DT ST HEX  an entry of DST kept (keep.sh)
//	drove-outcome NONCE id UID GID  the user the node runs jobs as (the check)
//	drove-outcome NONCE rsync trust-sender  the node's rsync has --trust-sender (rsync --version)
//	drove-outcome NONCE rsync plain  ... it has not
//
// each after a newline of its own. NONCE is random for each sync run and
// is in no file, so nothing else the job's shell prints (a node's login
// files, a motd) can fake an outcome or hide one; such lines are ignored.

// outcomeWord starts an outcome line.
const outcomeWord = "drove-outcome"

// unconfinedWord ends the outcome line of an rclone copy that ran
// unconfined.
const unconfinedWord = "unconfined"

// maxOutcomeLine is the longest line read as a possible outcome (a kept
// line names a path of up to PATH_MAX bytes in hexadecimal); longer lines
// are skipped whole.
const maxOutcomeLine = 2*pathMax + 128

// outcome is what one attempt of a copy job reported.
type outcome struct {
	Exit       int  // rsync's exit status when it was 23, 24 or 25, else 0
	Unconfined bool // rclone ran unconfined
	// UnconfinedMount: it had a mount namespace, but SRC could not be
	// bind-mounted or remounted nosymfollow in it.
	UnconfinedMount bool
	Failed          int // the copy ran and exited with this status (not 0, 23, 24 or 25), else 0
	Kept            []Kept
	// ID: the node reported the uid and gid it runs jobs as.
	ID       bool
	UID, GID int
	// Rsync is what the copy found of the node's rsync: rsyncTrustSender,
	// rsyncPlain, or "" when it did not ask (drove had told it).
	Rsync string
}

// What a copy reports of the node's rsync (copy.sh's drove_rsync).
const (
	rsyncTrustSender = "trust-sender"
	rsyncPlain       = "plain"
)

// outcomeParser reads a job's stdout for its outcome lines.
type outcomeParser struct {
	prefix  []byte // "drove-outcome NONCE "
	line    []byte
	skip    bool // the current line is too long to be an outcome
	outcome outcome
}

func newOutcomeParser(nonce string) *outcomeParser {
	return &outcomeParser{prefix: []byte(outcomeWord + " " + nonce + " ")}
}

// Write reads p; it never fails.
func (o *outcomeParser) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if !o.skip {
			if len(o.line)+len(chunk) > maxOutcomeLine {
				o.skip, o.line = true, o.line[:0]
			} else {
				o.line = append(o.line, chunk...)
			}
		}
		if i < 0 {
			break
		}
		if !o.skip {
			o.parse(o.line)
		}
		o.line, o.skip = o.line[:0], false
		p = p[i+1:]
	}
	return n, nil
}

func (o *outcomeParser) parse(l []byte) {
	rest, ok := bytes.CutPrefix(l, o.prefix)
	if !ok {
		return
	}
	if k, ok := parseKept(string(rest)); ok {
		o.outcome.Kept = append(o.outcome.Kept, k)
		return
	}
	switch s := string(rest); s {
	case unconfinedWord:
		o.outcome.Unconfined = true
	case unconfinedWord + " mount":
		o.outcome.Unconfined, o.outcome.UnconfinedMount = true, true
	case "exit 23", "exit 24", "exit 25":
		o.outcome.Exit, _ = strconv.Atoi(s[len("exit "):])
	case "rsync " + rsyncTrustSender, "rsync " + rsyncPlain:
		o.outcome.Rsync = s[len("rsync "):]
	default:
		if n, ok := strings.CutPrefix(s, "failed "); ok {
			if st, err := strconv.Atoi(n); err == nil && st > 0 && st < 256 && strconv.Itoa(st) == n {
				o.outcome.Failed = st
			}
			return
		}
		f := strings.Fields(s)
		if len(f) != 3 || f[0] != "id" {
			return
		}
		uid, err1 := strconv.ParseUint(f[1], 10, 32)
		gid, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil {
			o.outcome.ID, o.outcome.UID, o.outcome.GID = true, int(uid), int(gid)
		}
	}
}

// keptTypes are keep.sh's letters for the types of entries.
var keptTypes = map[string]string{"f": "file", "d": "directory", "l": "symlink", "o": "special file"}

// parseKept reads "kept DT ST HEX", the rest of a kept line.
func parseKept(s string) (Kept, bool) {
	f := strings.Fields(s)
	if len(f) != 4 || f[0] != "kept" {
		return Kept{}, false
	}
	dt, ok1 := keptTypes[f[1]]
	st, ok2 := keptTypes[f[2]]
	p, err := hex.DecodeString(f[3])
	if !ok1 || !ok2 || err != nil || len(p) == 0 {
		return Kept{}, false
	}
	return Kept{Path: string(p), Dst: dt, Src: st}, true
}

// outcomes collects the outcomes of a runner.Run's attempts, handed to it
// as Config.JobOutput; the runner calls an attempt's finish before it
// reports the attempt's end, where take reads it.
type outcomes struct {
	nonce string
	// learn, when set, is told what an attempt on node found of its rsync.
	learn func(node, rsync string)
	mu    sync.Mutex
	done  map[attemptKey]outcome
}

type attemptKey struct{ seq, attempt int }

func newOutcomes(nonce string, learn func(node, rsync string)) *outcomes {
	return &outcomes{nonce: nonce, learn: learn, done: map[attemptKey]outcome{}}
}

// jobOutput is a runner.Config.JobOutput.
func (oc *outcomes) jobOutput(job jobs.Job, attempt int, node string) (io.Writer, io.Writer, func(error)) {
	p := newOutcomeParser(oc.nonce)
	return p, nil, func(error) {
		if p.outcome.Rsync != "" && oc.learn != nil {
			oc.learn(node, p.outcome.Rsync)
		}
		oc.mu.Lock()
		defer oc.mu.Unlock()
		oc.done[attemptKey{job.Seq, attempt}] = p.outcome
	}
}

// peek returns the outcome of the attempt, and keeps it.
func (oc *outcomes) peek(seq, attempt int) outcome {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	return oc.done[attemptKey{seq, attempt}]
}

// take returns the outcome of the attempt, and forgets it.
func (oc *outcomes) take(seq, attempt int) outcome {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	k := attemptKey{seq, attempt}
	o := oc.done[k]
	delete(oc.done, k)
	return o
}
