package syncer

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/drove-dev/drove/partition"
)

// vanishedWord is what a partition job prints on stdout, and only then,
// when rsync exited 24 (source files vanished during the copy): the job
// succeeds and the run counts a warning.
const vanishedWord = "drove-vanished"

// partCommand is the shell command that copies one partition: the tool's
// output goes to the partition's log (appended, one "==" header per
// attempt), and rsync's exit 24 becomes a success. Every path is quoted.
//
//	mkdir -p -- LOGDIR && { echo "== $(date -u) $(uname -n)"; mkdir -p -- DST && rsync -a --from0 --files-from=LIST ARGS SRC/ DST/; } >>LOG 2>&1
//	s=$?; if [ $s -eq 24 ]; then echo drove-vanished; s=0; fi; exit $s
func (o *Options) partCommand(p *Part) (string, error) {
	job := partition.Job{Mode: o.Tool, Src: o.Src, Dst: o.Dst, ToolArgs: o.ToolArgs}
	line, err := job.Format(partition.Partition{Seq: p.Seq, ListPath: p.List, Files: p.Files, Bytes: p.Bytes})
	if err != nil {
		return "", err
	}
	return o.wrap(line, p.Log), nil
}

// wrap runs line with its output appended to log, creating the log's
// directory first (on the node, as the user the node runs jobs as: drove
// may run as another user), and DST for rsync (rsync creates only the last
// component, and racing rsyncs should not depend on how it handles a
// concurrent mkdir).
func (o *Options) wrap(line, log string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mkdir -p -- %s && ", partition.Quote(filepath.Dir(log)))
	b.WriteString(`{ echo "== $(date -u) $(uname -n)"; `)
	if o.Tool == partition.ModeRsync {
		fmt.Fprintf(&b, "mkdir -p -- %s && ", partition.Quote(o.Dst))
	}
	b.WriteString(line)
	fmt.Fprintf(&b, "; } >>%s 2>&1; s=$?; ", partition.Quote(log))
	if o.Tool == partition.ModeRsync {
		b.WriteString("if [ $s -eq 24 ]; then echo " + vanishedWord + "; s=0; fi; ")
	}
	b.WriteString("exit $s")
	return b.String()
}

// finalCommand is the final pass: one rsync -a of the whole tree (with
// --delete if asked; otherwise deleting only temporary files that killed
// rsyncs left), or rclone copy (rclone sync with --delete), with the run's
// tool arguments and excludes, logged to WORK/log/final.log.
func (o *Options) finalCommand() string {
	q := partition.Quote
	var w []string
	if o.Tool == partition.ModeRsync {
		w = append(w, "rsync", "-a", "--delete")
		for _, x := range o.Excludes {
			w = append(w, q("--exclude="+rsyncPattern(x)))
		}
		if !o.Delete {
			// Delete only what an rsync killed mid-file (SIGKILL, a
			// node that died) left behind: its temporary ".NAME.XXXXXX"
			// files, when no such name is in SRC. Everything else in
			// DST is protected.
			w = append(w, q("--filter=R "+rsyncTempPattern), q("--filter=P *"))
		}
		for _, a := range o.ToolArgs {
			w = append(w, q(a))
		}
		w = append(w, "--", q(strings.TrimSuffix(o.Src, "/")+"/"), q(strings.TrimSuffix(o.Dst, "/")+"/"))
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
	}
	return o.wrap(strings.Join(w, " "), filepath.Join(o.Work, "log", "final.log"))
}

// rsyncTempPattern matches the names of rsync's temporary files: a dot,
// the file's name, a dot and six mkstemp characters.
const rsyncTempPattern = ".*.[A-Za-z0-9_][A-Za-z0-9_][A-Za-z0-9_][A-Za-z0-9_][A-Za-z0-9_][A-Za-z0-9_]"

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
