package syncer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/partition"
)

// TempDirName is the name of the directory, at the top of DST, where the
// rsyncs of the sync whose work directory is work keep their temporary
// files (rsync --temp-dir): a file being copied is never written into its
// own directory under a name that could be an ordinary file of DST, and
// what an rsync killed mid-file leaves behind is only ever in this
// directory, which drove removes after the final pass. The name depends on
// the work directory only; the crawl never lists an entry of SRC so named.
func TempDirName(work string) string {
	sum := sha256.Sum256([]byte(filepath.Clean(work)))
	return ".drove-tmp." + hex.EncodeToString(sum[:6])
}

func (o *Options) tempDir() string { return filepath.Join(o.Dst, TempDirName(o.Work)) }

// partCommand is the shell command that copies one partition (copy.sh):
// the tool's output goes to the partition's log (appended, one "=="
// header per attempt), and rsync's exits 24 and 23 become a success that
// the job reports as its outcome (see outcome.go), for drove to check.
// rsync reads SRC through drove's daemon module (see confine.go) and keeps
// its temporary files in DST/TempDirName (a relative --temp-dir is
// relative to DST).
func (o *Options) partCommand(p *Part) (string, error) {
	if strings.ContainsAny(p.List, "\n\r") {
		return "", partition.ErrMultiline
	}
	return o.partCommandKeep(p, o.partKeep(p.List)), nil
}

// partCommandKeep is partCommand with the keep check k (none when k.mode
// is empty).
func (o *Options) partCommandKeep(p *Part, k keep) string {
	c := copytool.Command{Tool: o.Tool, List: p.List, Args: o.ToolArgs, Src: o.Src, Dst: o.Dst, Stats: true}
	if k.mode != "" {
		c.ListExpr = keepListVar
	}
	if o.Tool == copytool.Rsync {
		c.TempDir = TempDirName(o.Work)
		// A directory of DST that SRC now has as a file or symlink is
		// replaced, as the final pass's --delete would (unless deletions
		// are limited: then only the final pass replaces anything).
		c.Force = o.Delete && !o.LimitDelete
		c.Source = o.rsyncSource()
	}
	return o.wrap(c, p.Log, "", k)
}

// keepListVar is the shell text naming the list (or exclude file) that
// keep.sh made on the node (copy.sh exports it).
const keepListVar = `"$drove_list"`

// keep is how a copy runs keep.sh first (mode "" for not at all).
type keep struct {
	mode   string // keep.sh's MODE
	in     string // its IN: the partition's list
	report bool   // report what is kept (else it is left to the final pass)
}

// partKeep is the keep check of a partition copy: without Delete, entries
// whose DST counterpart (or a directory above it) is of another type are
// kept and reported; with Delete and LimitDelete they are left to the
// final pass, the one copy that deletes and counts what it deletes. With
// an rclone remote DST there is nothing drove can lstat.
func (o *Options) partKeep(list string) keep {
	if o.remoteDst() || (o.Delete && !o.LimitDelete) {
		return keep{}
	}
	return keep{mode: o.Tool.String() + "-list", in: list, report: !o.Delete}
}

// finalKeep is the keep check of the final pass: without Delete, SRC is
// walked and every entry whose DST counterpart is of another type is
// excluded and reported.
func (o *Options) finalKeep() keep {
	if o.remoteDst() || o.Delete {
		return keep{}
	}
	return keep{mode: o.Tool.String() + "-walk", in: "-", report: true}
}

// wrap is copy.sh running c with its output appended to log, creating the
// log's directory first (on the node, as the user the node runs jobs as:
// drove may run as another user), and for rsync DST with rsync's
// temporary directory in it (rsync creates only the last component, and
// racing rsyncs should not depend on how it handles a concurrent mkdir).
// Without Delete, the final rsync also removes the temporary directory and
// sets DST's mtime back to SRC's.
func (o *Options) wrap(c copytool.Command, log, mark string, k keep) string {
	kind := "rsync"
	switch {
	case o.Tool == copytool.Rclone && copytool.FollowsLinks(o.ToolArgs):
		kind = "rclone" // asked to follow symlinks, wherever they lead
	case o.Tool == copytool.Rclone:
		kind = "rclone-confined"
	case c.List == "":
		kind = "rsync-final"
	}
	check := ""
	if o.Tool == copytool.Rclone && c.List != "" {
		check = c.ListDst(dstListing(log))
	}
	return o.copyScript(kind, c.Line(), check, mark, log, k)
}

// copyScript is copy.sh of the given kind running line (shell text), after
// keep.sh when k has a mode, then, when it succeeded, check (shell text,
// may be empty). A non-empty mark is the name of a file at the top of SRC
// that the node must see before line runs (see viewMarker), else the job
// exits exitStaleView.
func (o *Options) copyScript(kind, line, check, mark, log string, k keep) string {
	q := partition.Quote
	report := "0"
	if k.report {
		report = "1"
	}
	w := []string{copyScriptPrefix() + q(o.nonce), q(filepath.Dir(log)), q(log), kind,
		q(o.tempDir()), q(strings.TrimSuffix(o.Src, "/")), q(copytool.DirArg(o.Dst)), q(line),
		q(oneLine(confineSh)), q(oneLine(mountinfoAwk)), q(check), q(mark), q(oneLine(keepSh)), q(k.mode), q(k.in), report}
	return strings.Join(w, " ")
}

// copyScriptPrefix is how every copyScript starts: sh running copy.sh,
// its $0 and the space before $1.
func copyScriptPrefix() string {
	return "sh -c " + partition.Quote(oneLine(copySh)) + " sh "
}

// finalCommand is the final pass: one rsync -a of the whole tree, read
// through drove's daemon module as the partitions are (with
// --delete if asked, which never touches drove's temporary directory),
// then the removal of drove's temporary directory (whatever killed rsyncs
// left in it) and DST's mtime set back to SRC's; or rclone copy (rclone
// sync with --delete). With the run's tool arguments and excludes, logged
// to WORK/log/final.log. Without Delete nothing of DST is ever removed but
// drove's own temporary directory: keep.sh first walks SRC and excludes
// (and reports) every entry DST holds as another type. A non-empty mark is
// drove's view marker at the top of SRC (viewMarker): the node runs the
// pass only if it sees it, and it is never copied.
func (o *Options) finalCommand(mark string) string {
	return o.finalCommandKeep(mark, o.finalKeep())
}

// finalCommandKeep is finalCommand with the keep check k (none when k.mode
// is empty).
func (o *Options) finalCommandKeep(mark string, k keep) string {
	c := copytool.Command{Tool: o.Tool, Delete: o.Delete, Excludes: o.Excludes, Args: o.ToolArgs, Src: o.Src, Dst: o.Dst, Stats: true}
	if mark != "" {
		c.Excludes = append(slices.Clone(o.Excludes), "/"+mark)
	}
	if o.Tool == copytool.Rsync {
		c.TempDir, c.ExcludeTempDir = TempDirName(o.Work), true
		c.Source = o.rsyncSource()
	} else {
		c.EmptyDirs = true
	}
	c.LimitDelete, c.MaxDelete = o.LimitDelete, o.MaxDelete
	if k.mode != "" {
		c.ExcludeFromExpr = keepListVar
	}
	return o.wrap(c, filepath.Join(o.Work, "log", "final.log"), mark, k)
}

// cleanupCommand removes drove's temporary directory from DST when there is
// no final pass (which removes it otherwise).
func (o *Options) cleanupCommand() string {
	return fmt.Sprintf("rm -rf -- %s", partition.Quote(o.tempDir()))
}

// checkCommand is the visibility check run on every remote node, as the
// user the node runs jobs as. It first prints that user as an outcome line
// ("id UID GID", outcome.go). It exits 3 when SRC is not a directory there,
// 4 when DST's parent is not, 5 when the probe file drove wrote into WORK
// does not hold token (not the same storage), 6 when DST cannot be
// written and 7 when the logs cannot be written in WORK.
func checkCommand(nonce, src, dst, probe, token string) string {
	q := partition.Quote
	s := fmt.Sprintf(`printf '\n%s %%s id %%s %%s\n' %s "$(id -u)" "$(id -g)"; `, outcomeWord, q(nonce))
	s += fmt.Sprintf("test -d %s || exit %d; ", q(src), exitNoSrc)
	if dst != "" {
		s += fmt.Sprintf("test -d %s || exit %d; ", q(filepath.Dir(dst)), exitNoDst)
	}
	s += fmt.Sprintf(`test "$(cat %s 2>/dev/null)" = %s || exit %d; `, q(probe), q(token), exitNoWork)
	if dst != "" {
		s += fmt.Sprintf("if test -e %s; then test -d %s && test -w %s; else test -w %s; fi || exit %d; ",
			q(dst), q(dst), q(dst), q(filepath.Dir(dst)), exitDstRO)
	}
	work, logs := filepath.Dir(probe), filepath.Join(filepath.Dir(probe), "log")
	s += fmt.Sprintf("if test -d %s; then test -w %s; else test -w %s; fi || exit %d", q(logs), q(logs), q(work), exitWorkRO)
	return s
}

// Exit statuses of checkCommand.
const (
	exitNoSrc  = 3
	exitNoDst  = 4
	exitNoWork = 5
	exitDstRO  = 6
	exitWorkRO = 7
	// exitStaleView is copy.sh's exit when the node does not see drove's
	// view marker in SRC.
	exitStaleView = 8
)

// listFormat is the list format tool reads.
func listFormat(tool copytool.Tool) partition.ListFormat {
	if tool == copytool.Rclone {
		return partition.ListRclone
	}
	return partition.ListRsync
}
