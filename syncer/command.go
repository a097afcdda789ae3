package syncer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/drove-dev/drove/partition"
)

// vanishedWord is what a partition job prints on stdout, and only then,
// when rsync exited 24 (source files vanished during the copy) or 23
// (some files were not transferred): the job succeeds, and drove reads the
// attempt's log to tell a vanished source (a warning) from a real error (a
// failed partition). Exit 23 is also noted in the log as exit23Line.
const vanishedWord = "drove-vanished"

// exit23Line is the line a partition job appends to its log after an rsync
// that exited 23.
const exit23Line = "== exit 23"

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

// partCommand is the shell command that copies one partition: the tool's
// output goes to the partition's log (appended, one "==" header per
// attempt), and rsync's exits 24 and 23 become a success that drove checks
// (see vanishedWord). rsync reads SRC through drove's daemon module (see
// confine.go) and keeps its temporary files in DST/TempDirName (a
// relative --temp-dir is relative to DST). Every path is quoted.
//
//	mkdir -p -- LOGDIR && { echo "== $(date -u) $(uname -n)"; drove_m=...; mkdir -p -- DST/TMP && rsync -a --from0 --files-from=LIST --temp-dir=TMP ARGS -e RSH --rsync-path=... "drove::$drove_m/" DST/; } >>LOG 2>&1
//	s=$?; if [ $s -eq 24 ]; then echo drove-vanished; s=0; elif [ $s -eq 23 ]; then echo '== exit 23' >>LOG && echo drove-vanished && s=0; fi; exit $s
func (o *Options) partCommand(p *Part) (string, error) {
	if strings.ContainsAny(p.List, "\n\r") {
		return "", partition.ErrMultiline
	}
	if o.Tool != partition.ModeRsync {
		job := partition.Job{Mode: o.Tool, Src: o.Src, Dst: o.Dst, ToolArgs: o.ToolArgs}
		line, err := job.Format(partition.Partition{Seq: p.Seq, ListPath: p.List, Files: p.Files, Bytes: p.Bytes})
		if err != nil {
			return "", err
		}
		return o.wrap(o.rcloneConfined(line), p.Log), nil
	}
	q := partition.Quote
	w := []string{"rsync", "-a", "--from0", "--files-from=" + q(p.List), q("--temp-dir=" + TempDirName(o.Work))}
	if o.Delete {
		// A directory of DST that SRC now has as a file or symlink is
		// replaced, as the final pass's --delete would.
		w = append(w, "--force")
	}
	for _, a := range o.ToolArgs {
		w = append(w, q(a))
	}
	w = append(w, o.rsyncSource(), q(dstDir(o.Dst)))
	return o.wrap(strings.Join(w, " "), p.Log), nil
}

// dstDir is DST as rsync's destination directory argument.
func dstDir(dst string) string { return leadSafe(strings.TrimSuffix(dst, "/") + "/") }

// wrap runs line with its output appended to log, creating the log's
// directory first (on the node, as the user the node runs jobs as: drove
// may run as another user), and DST with rsync's temporary directory in it
// for rsync (rsync creates only the last component, and racing rsyncs
// should not depend on how it handles a concurrent mkdir).
func (o *Options) wrap(line, log string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mkdir -p -- %s && ", partition.Quote(filepath.Dir(log)))
	b.WriteString(`{ echo "== $(date -u) $(uname -n)"; `)
	if o.Tool == partition.ModeRsync {
		b.WriteString(pickModule)
		fmt.Fprintf(&b, "mkdir -p -- %s && ", partition.Quote(o.tempDir()))
	}
	b.WriteString(line)
	stdout := "" // rclone: fd 3 is the job's stdout, for unconfinedWord
	if o.Tool == partition.ModeRclone {
		stdout = "3>&1 "
	}
	fmt.Fprintf(&b, "; } %s>>%s 2>&1; s=$?; ", stdout, partition.Quote(log))
	if o.Tool == partition.ModeRsync {
		fmt.Fprintf(&b, "if [ $s -eq 24 ]; then echo %s; s=0; elif [ $s -eq 23 ]; then echo '%s' >>%s && echo %s && s=0; fi; ",
			vanishedWord, exit23Line, partition.Quote(log), vanishedWord)
	}
	b.WriteString("exit $s")
	return b.String()
}

// finalCommand is the final pass: one rsync -a of the whole tree, read
// through drove's daemon module as the partitions are (with
// --delete if asked, which never touches drove's temporary directory),
// then the removal of drove's temporary directory (whatever killed rsyncs
// left in it) and DST's mtime set back to SRC's; or rclone copy (rclone
// sync with --delete). With the run's tool arguments and excludes, logged
// to WORK/log/final.log. Without Delete nothing of DST is ever removed but
// drove's own temporary directory.
func (o *Options) finalCommand() string {
	q := partition.Quote
	var w []string
	if o.Tool == partition.ModeRsync {
		tmp := TempDirName(o.Work)
		w = append(w, "rsync", "-a")
		if o.Delete {
			w = append(w, "--delete", "--force")
		}
		w = append(w, q("--exclude=/"+tmp+"/"), q("--temp-dir="+tmp))
		for _, x := range o.Excludes {
			w = append(w, q("--exclude="+rsyncPattern(x)))
		}
		for _, a := range o.ToolArgs {
			w = append(w, q(a))
		}
		src, dst := q(strings.TrimSuffix(o.Src, "/")+"/"), q(dstDir(o.Dst))
		w = append(w, o.rsyncSource(), dst)
		w = append(w, "; s=$?; rm -rf --", q(o.tempDir()), "&& touch -c -m -r", src, dst, "; (exit $s)")
	} else {
		verb := "copy"
		if o.Delete {
			verb = "sync"
		}
		w = append(w, "rclone", verb, "--create-empty-src-dirs")
		for _, x := range o.Excludes {
			for _, p := range rclonePatterns(x) {
				w = append(w, "--exclude", q(p))
			}
		}
		for _, a := range o.ToolArgs {
			w = append(w, q(a))
		}
		w = append(w, q(leadSafe(o.Src)), q(leadSafe(o.Dst)))
		return o.wrap(o.rcloneConfined(strings.Join(w, " ")), filepath.Join(o.Work, "log", "final.log"))
	}
	return o.wrap(strings.Join(w, " "), filepath.Join(o.Work, "log", "final.log"))
}

// cleanupCommand removes drove's temporary directory from DST when there is
// no final pass (which removes it otherwise).
func (o *Options) cleanupCommand() string {
	return fmt.Sprintf("rm -rf -- %s", partition.Quote(o.tempDir()))
}

// rsyncPattern turns an exclude glob (partition.Options.Excludes: a name
// pattern, or a path pattern relative to SRC when it holds "/") into the
// rsync pattern that excludes the same entries: name patterns match in
// every directory; path patterns are anchored at the transfer root.
func rsyncPattern(glob string) string {
	if strings.Contains(glob, "/") {
		return "/" + strings.Trim(glob, "/")
	}
	return glob
}

// rclonePatterns are the rclone filters for an exclude glob: the entry
// itself and, should it be a directory, everything below it.
func rclonePatterns(glob string) []string {
	p := glob
	if strings.Contains(glob, "/") {
		p = "/" + strings.Trim(glob, "/")
	}
	return []string{p, p + "/**"}
}

// leadSafe keeps a path that starts with "-" from being read as an option.
func leadSafe(s string) string {
	if strings.HasPrefix(s, "-") {
		return "./" + s
	}
	return s
}

// checkCommand is the visibility check run on every remote node, as the
// user the node runs jobs as. It exits 3 when SRC is not a directory there,
// 4 when DST's parent is not, 5 when the probe file drove wrote into WORK
// does not hold token (not the same storage), 6 when DST cannot be
// written and 7 when the logs cannot be written in WORK.
func checkCommand(src, dst, probe, token string) string {
	q := partition.Quote
	s := fmt.Sprintf("test -d %s || exit %d; ", q(src), exitNoSrc)
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
)
