package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/partition"
	"github.com/drove-dev/drove/syncer"
	"github.com/drove-dev/drove/termview"
)

// SyncCmd is "drove sync": copy SRC to DST across the nodes in one
// command, fpsync-style, resumable through --work (see package syncer).
type SyncCmd struct {
	Src string `arg:"" placeholder:"SRC" help:"Directory to copy. drove crawls it here, and every node must see it at the same path."`
	Dst string `arg:"" placeholder:"DST" help:"Where to copy it: a directory whose parent exists on every node, or with --mode rclone an rclone remote (remote:path)."`

	Work        string     `short:"d" placeholder:"DIR" help:"Work directory: partition lists, the journal, per-partition logs (fpsync -d). With remote nodes it is required and must be shared storage every node sees at the same path. Default with only ':' nodes: a private directory under $XDG_STATE_HOME/drove/sync (or ~/.local/state/drove/sync) named after SRC, DST and --mode. Run the same command with the same DIR to resume."`
	Mode        string     `enum:"rsync,rclone" default:"rsync" help:"Copy tool: rsync (rsync -a --from0 --files-from) or rclone (rclone copy --files-from-raw)."`
	Files       int        `short:"f" default:"2000" placeholder:"N" help:"Close a partition at N entries (default 2000, as fpsync -f)."`
	Size        string     `short:"s" default:"4GiB" placeholder:"SIZE" help:"Close a partition before it exceeds SIZE bytes (default 4GiB, as fpsync -s and drove partition -s); a bigger single file gets a partition of its own. K M G T and KiB..TiB are powers of 1024, KB MB GB TB powers of 1000. (-s is --size here, as in fpsync; in drove run -s is --status.)"`
	Exclude     []string   `short:"x" sep:"none" placeholder:"GLOB" help:"Skip files and whole directories matching GLOB (a name, or a path relative to SRC if it contains /); the final pass and --verify skip them too. Repeatable."`
	EmptyDirs   bool       `short:"z" name:"empty-dirs" help:"List empty directories so partitions recreate them (the final pass does anyway)."`
	ToolArgs    []string   `name:"tool-args" sep:"none" placeholder:"ARG" help:"One extra argument for rsync/rclone in every partition and the final pass (repeatable; write --tool-args=-H)."`
	Walkers     int        `placeholder:"N" help:"Parallel crawlers (default: fastwalk's). More helps on NFS/Lustre."`
	NoFinalPass bool       `name:"no-final-pass" help:"Skip the final pass (one rsync -a, or rclone copy, of the whole tree after every partition is done, fixing directory metadata and catching files changed during the run)."`
	Delete      bool       `help:"Make the final pass delete what is in DST but not in SRC (fpsync -E; rclone sync). Refused when SRC is empty or is not on the device it was on in the last run (not mounted?), unless --delete-empty-src."`
	MaxDelete   int        `name:"max-delete" default:"-1" placeholder:"N" help:"With --delete, delete at most N entries of DST in the whole run (as rsync's --max-delete; the final pass is then the only copy that deletes or replaces anything); past N, stop deleting, copy the rest and exit 25."`
	DeleteEmpty bool       `name:"delete-empty-src" help:"With --delete, delete even when SRC is empty or on another device than in the last run."`
	Status      bool       `help:"Show live progress on stderr: files and bytes copied of those crawled so far, rate, ETA, nodes busy. (-s is --size here, as in fpsync and drove partition.)"`
	Verify      verifyFlag `help:"After the run, compare DST with SRC here: size and mtime of every file, symlink targets, missing and (with --delete) extra entries; --verify=checksum compares contents too. Differences give exit status 1."`

	gatewayFlags `embed:""`
	fleetFlags   `embed:""`
}

// verifyFlag is --verify (size and mtime) or --verify=checksum.
type verifyFlag string

// Decode takes an optional =VALUE, like a bool flag.
func (v *verifyFlag) Decode(ctx *kong.DecodeContext) error {
	*v = "size"
	if ctx.Scan.Peek().Type != kong.FlagValueToken {
		return nil
	}
	var s string
	if err := ctx.Scan.PopValueInto("verify", &s); err != nil {
		return err
	}
	switch s {
	case "size", "true":
	case "checksum":
		*v = "checksum"
	case "false":
		*v = ""
	default:
		return fmt.Errorf("--verify=%s: want --verify or --verify=checksum", s)
	}
	return nil
}

// IsBool makes kong accept --verify without a value.
func (v *verifyFlag) IsBool() bool { return true }

// Help is shown under the usage line of "drove sync --help".
func (c *SyncCmd) Help() string {
	return `Crawls SRC, hands each partition to a free node slot as soon as it is full,
copies it there with rsync (or rclone), then runs one final pass over the whole
tree. Everything is journalled in --work: after an interrupt, a crash or
failed partitions, run the same command again to finish without copying again.

  drove sync -n 4/: /data/src /data/dst
  drove sync -N nodes.txt -d /shared/work -f 2048 --delete --verify /mnt/src /mnt/dst

Exit status: 0 everything copied (and verified); 1 failed partitions, an
incomplete crawl, a failed final pass, verify differences, or entries of DST
kept because SRC holds them as another type (without --delete); 2 bad input
or a node that does not see SRC, DST's parent or --work (nothing was copied);
25 everything copied but --max-delete stopped the deletions; 130 interrupted
(run the same command again to resume).`
}

// Run checks the command line, runs the sync and reports it.
func (c *SyncCmd) Run(ctx context.Context, e *env) error {
	o, err := c.options()
	if err != nil {
		return err
	}
	via, err := c.reach(e, &c.fleetFlags, false)
	if err != nil {
		return err
	}
	defer via.close()
	dialer := via.dialer
	specs, _, err := c.readNodes(e)
	if err != nil {
		return err
	}
	for i, n := range c.poolNodes(specs, dialer) {
		o.Nodes = append(o.Nodes, syncer.Node{Node: n, Local: specs[i].Local()})
	}

	scr := termview.NewScreen(e.stdout, e.stderr, c.Status)
	defer scr.Close()
	ui := termview.NewSync(scr, c.Status, c.Verbose)
	ui.Hint = nodeHint
	o.Events = ui.Event
	o.OnSkip = func(s partition.Skip) {
		ui.Message("drove: sync: could not list %q: %v", filepath.Join(o.Src, s.Path), s.Err)
	}
	o.Stderr = scr.Stderr()
	o.Drain = e.drain

	res, err := syncer.Run(ctx, o)
	if err != nil {
		ui.Finish()
		var mm *syncer.MismatchError
		var be *syncer.BusyError
		var ve *syncer.VisibilityError
		var oe *syncer.OverlapError
		var ue *syncer.UnsafeWorkError
		var wr *syncer.WorkRequiredError
		var de *syncer.DstError
		var dr *syncer.DeleteRefusedError
		if errors.As(err, &dr) {
			return usageErrorf("%v; nothing was run (--delete-empty-src deletes anyway)", err)
		}
		if errors.As(err, &wr) {
			return usageErrorf("sync: --work DIR is required with remote nodes (%s): a directory on storage every node sees at the same path", wr.Node)
		}
		if errors.As(err, &mm) || errors.As(err, &be) || errors.As(err, &ve) || errors.As(err, &oe) || errors.As(err, &ue) || errors.As(err, &de) {
			return &exitError{code: exitUsage, err: err}
		}
		return &exitError{code: exitFailed, err: err}
	}
	o.Work = res.Work
	ui.Summary(res, o.Work)
	for _, k := range res.Kept {
		fmt.Fprintf(e.stderr, "drove: sync: kept: %s is a %s, %s is a %s\n",
			showPath(filepath.Join(o.Dst, k.Path)), k.Dst, showPath(filepath.Join(o.Src, k.Path)), k.Src)
	}
	if res.DeleteLimited {
		fmt.Fprintf(e.stderr, "drove: sync: --max-delete %d reached: the final pass stopped deleting; what DST holds and SRC does not is left (see %s)\n",
			o.MaxDelete, filepath.Join(o.Work, "log", "final.log"))
	}
	if res.NewRun {
		fmt.Fprintf(e.stderr, "drove: sync: this was run %d of %s: run %d had finished, so the tree was synced again\n", res.Run, o.Work, res.Run-1)
	}
	switch {
	case res.Interrupted:
		return &exitError{code: exitInterrupted, err: fmt.Errorf("sync: interrupted; run the same command again to resume (work directory %s)", o.Work)}
	case !res.OK():
		return &exitError{code: exitFailed, err: fmt.Errorf("sync: incomplete; fix the cause and run the same command again to finish (work directory %s)", o.Work)}
	}
	if c.Verify == "" {
		return keptOrLimited(res)
	}
	start := time.Now()
	rep, err := syncer.Verify(ctx, syncer.VerifyOptions{
		Src: o.Src, Dst: o.Dst, Checksum: c.Verify == "checksum", Excludes: o.Excludes, Extras: c.Delete && !res.DeleteLimited,
		Listed: res.Files,
	})
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: exitInterrupted, err: errors.New("sync: verify interrupted")}
		}
		return &exitError{code: exitFailed, err: err}
	}
	ui.Verified(rep, string(c.Verify), time.Since(start))
	if rep.Short() {
		return &exitError{code: exitFailed, err: fmt.Errorf("sync: verify: compared %d entries of SRC, fewer than the %d the crawl listed", rep.Checked+rep.Specials, rep.Listed)}
	}
	if rep.Differences > 0 && len(res.Kept) == 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("sync: verify: DST differs from SRC in %d entries", rep.Differences)}
	}
	return keptOrLimited(res)
}

// keptOrLimited is the exit of a run that copied everything it could but
// kept entries of DST (exit 1) or stopped deleting at --max-delete (exit
// 25, as rsync's --max-delete), nil for neither.
func keptOrLimited(res *syncer.Result) error {
	switch {
	case len(res.Kept) > 0:
		return &exitError{code: exitFailed, err: fmt.Errorf("sync: kept %d entries of DST that SRC holds as another type (listed above; without --delete nothing in DST is removed): move them away, or give --delete, and run the same command again", len(res.Kept))}
	case res.DeleteLimited:
		return &exitError{code: exitDeleteLimit, err: errors.New("sync: stopped deleting at --max-delete; everything else was copied")}
	}
	return nil
}

// showPath is a path as a message line shows it: as it is, or quoted when
// it holds a byte a terminal would not show as itself.
func showPath(p string) string {
	for _, r := range p {
		if !strconv.IsPrint(r) {
			return strconv.Quote(p)
		}
	}
	return p
}

// options turns the command line into syncer.Options (without nodes).
func (c *SyncCmd) options() (syncer.Options, error) {
	var o syncer.Options
	if err := c.fleetFlags.validate(); err != nil {
		return o, err
	}
	mode, err := copytool.Parse(c.Mode)
	if err != nil {
		return o, usageErrorf("sync: %v", err)
	}
	if c.Files < 0 || c.Walkers < 0 {
		return o, usageErrorf("sync: -f and --walkers must not be negative")
	}
	var maxBytes int64
	if c.Size != "" && c.Size != "0" {
		if maxBytes, err = partition.ParseSize(c.Size); err != nil {
			return o, usageErrorf("sync: --size: %v", err)
		}
	}
	if c.MaxDelete >= 0 && !c.Delete {
		return o, usageErrorf("sync: --max-delete needs --delete (without it nothing in DST is deleted)")
	}
	if c.MaxDelete < -1 {
		return o, usageErrorf("sync: --max-delete must not be negative")
	}
	if c.MaxDelete >= 0 && c.NoFinalPass {
		return o, usageErrorf("sync: --max-delete needs the final pass (it is the copy that deletes)")
	}
	if c.Verify != "" && c.remoteDst() {
		return o, usageErrorf("sync: --verify needs DST to be a directory on this machine, not an rclone remote")
	}
	if c.EmptyDirs && mode == copytool.Rclone {
		return o, usageErrorf("sync: --empty-dirs does not work with rclone (rclone --files-from-raw copies files only; the final pass creates empty directories)")
	}
	src, err := absPath(c.Src)
	if err != nil {
		return o, usageErrorf("sync: SRC: %v", err)
	}
	if fi, err := os.Stat(src); err != nil {
		return o, usageErrorf("sync: SRC: %v", err)
	} else if !fi.IsDir() {
		return o, usageErrorf("sync: SRC %s is not a directory", c.Src)
	}
	dst := c.Dst
	if !c.remoteDst() {
		if dst, err = absPath(dst); err != nil {
			return o, usageErrorf("sync: DST: %v", err)
		}
	}
	work := c.Work // "": syncer.DefaultWork
	if work != "" {
		if work, err = absPath(work); err != nil {
			return o, usageErrorf("sync: --work: %v", err)
		}
	}
	for _, w := range append([]string{src, dst, work}, c.ToolArgs...) {
		if strings.ContainsAny(w, "\n\r") {
			return o, usageErrorf("sync: SRC, DST, --work and --tool-args cannot contain a newline")
		}
	}
	for _, x := range c.Exclude {
		// The crawl matches with path.Match, the final pass with rsync:
		// these two read differently there (TestExcludesMeanTheSameToCrawlAndRsync).
		if strings.Contains(x, "**") || strings.Contains(x, "[!") {
			return o, usageErrorf("sync: -x %q: \"**\" and \"[!\" mean one thing to rsync (the final pass) and another to drove's crawl: write [^...] for a negated class, and a pattern per depth for **", x)
		}
	}
	opts := partition.Options{Src: src, OutDir: "lists", MaxFiles: c.Files, MaxBytes: maxBytes, Excludes: c.Exclude}
	if err := opts.Validate(); err != nil {
		return o, usageErrorf("sync: %v", err)
	}
	return syncer.Options{
		Src: src, Dst: dst, Work: work,
		Tool: mode, ToolArgs: c.ToolArgs,
		MaxFiles: c.Files, MaxBytes: maxBytes, Excludes: c.Exclude, EmptyDirs: c.EmptyDirs, Walkers: c.Walkers,
		FinalPass: !c.NoFinalPass, Delete: c.Delete, DeleteEmptySrc: c.DeleteEmpty,
		LimitDelete: c.MaxDelete >= 0, MaxDelete: max(c.MaxDelete, 0),
		OnFailure: c.onFailure(), MaxAttempts: c.MaxAttempts, MaxSlots: c.MaxNodes, Timeout: c.Timeout,
	}, nil
}

// absPath makes p absolute without cleaning it: syncer resolves ".." as
// the kernel does (after a symbolic link, ".." is the link target's
// parent), which a lexical clean would get wrong.
func absPath(p string) (string, error) {
	if filepath.IsAbs(p) || p == "" {
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return wd + string(filepath.Separator) + p, nil
}

// remoteDst reports whether DST is an rclone remote (syncer decides).
func (c *SyncCmd) remoteDst() bool {
	mode, err := copytool.Parse(c.Mode)
	return err == nil && syncer.IsRemote(mode, c.Dst)
}
