package copytool

import (
	"strconv"
	"strings"
)

// Command is one run of a tool copying SRC into DST. Line turns it into
// shell text in which every word that comes from a path or an argument is
// quoted.
type Command struct {
	Tool Tool
	// List is the file of the entries to copy, relative to Src
	// (rsync --from0 --files-from, rclone --files-from-raw); empty copies
	// the whole tree.
	List string
	// Delete removes what is in Dst and not in Src: rsync --delete
	// --force, rclone sync instead of copy.
	Delete bool
	// LimitDelete, with Delete, is --max-delete=MaxDelete (rsync) or
	// --max-delete MaxDelete (rclone): at most that many entries deleted.
	LimitDelete bool
	MaxDelete   int
	// Force is rsync --force (a directory replaced by a file or a link).
	Force bool
	// TempDir is rsync's --temp-dir, relative to Dst; ExcludeTempDir also
	// excludes it from the transfer (/TempDir/).
	TempDir        string
	ExcludeTempDir bool
	// Excludes are exclude globs: a name pattern, or a path pattern
	// relative to Src when it holds "/" (partition.Options.Excludes).
	Excludes []string
	// EmptyDirs is rclone's --create-empty-src-dirs.
	EmptyDirs bool
	// Args are extra arguments, one word each, placed before the source.
	Args []string
	// Src and Dst are used as given (rsync: as directories, DirArg).
	Src, Dst string
	// Source, when set, is shell text put in place of the quoted source
	// argument (rsync reading through a daemon: it is not quoted).
	Source string
	// Stats makes the tool print what Stats reads (StatsArgs, before
	// Args).
	Stats bool
	// ListExpr, when set, is shell text put in place of the quoted List
	// (a variable naming a list made on the node; it is not quoted).
	ListExpr string
	// ExcludeFromExpr, when set, is shell text naming a file of exclude
	// patterns (not quoted): rsync --from0 --exclude-from (NUL-terminated
	// patterns), rclone --exclude-from (one a line).
	ExcludeFromExpr string
}

// Line returns c as one line of shell text:
//
//	rsync -a [--stats] [--from0 --files-from=LIST | --from0] [--delete [--max-delete=N]] [--force] [--exclude=/TMP/] [--temp-dir=TMP] [--exclude=P...] [--exclude-from=FILE] ARGS SRC/ DST/
//	rclone copy|sync [STATS-ARGS] [--max-delete N] [--files-from-raw LIST] [--create-empty-src-dirs] [--exclude P...] [--exclude-from FILE] ARGS SRC DST
func (c Command) Line() string {
	q := Quote
	var w []string
	src := c.Source
	if c.Tool == Rclone {
		verb := "copy"
		if c.Delete {
			verb = "sync"
		}
		w = append(w, "rclone", verb)
		if c.Stats {
			w = append(w, StatsArgs(Rclone)...)
		}
		if c.Delete && c.LimitDelete {
			w = append(w, "--max-delete", strconv.Itoa(c.MaxDelete))
		}
		if c.List != "" {
			w = append(w, "--files-from-raw", c.list())
		}
		if c.EmptyDirs {
			w = append(w, "--create-empty-src-dirs")
		}
		for _, x := range c.Excludes {
			for _, p := range RclonePatterns(x) {
				w = append(w, "--exclude", q(p))
			}
		}
		if c.ExcludeFromExpr != "" {
			w = append(w, "--exclude-from", c.ExcludeFromExpr)
		}
		for _, a := range c.Args {
			w = append(w, q(a))
		}
		if src == "" {
			src = q(SafeLead(c.Src))
		}
		return strings.Join(append(w, src, q(SafeLead(c.Dst))), " ")
	}
	w = append(w, "rsync", "-a")
	if c.Stats {
		w = append(w, StatsArgs(Rsync)...)
	}
	if c.List != "" {
		w = append(w, "--from0", "--files-from="+c.list())
	} else if c.ExcludeFromExpr != "" {
		w = append(w, "--from0")
	}
	if c.Delete {
		w = append(w, "--delete")
		if c.LimitDelete {
			w = append(w, "--max-delete="+strconv.Itoa(c.MaxDelete))
		}
	}
	if c.Delete || c.Force {
		w = append(w, "--force")
	}
	if c.TempDir != "" {
		if c.ExcludeTempDir {
			w = append(w, q("--exclude=/"+c.TempDir+"/"))
		}
		w = append(w, q("--temp-dir="+c.TempDir))
	}
	for _, x := range c.Excludes {
		w = append(w, q("--exclude="+RsyncPattern(x)))
	}
	if c.ExcludeFromExpr != "" {
		w = append(w, "--exclude-from="+c.ExcludeFromExpr)
	}
	for _, a := range c.Args {
		w = append(w, q(a))
	}
	if src == "" {
		src = q(DirArg(c.Src))
	}
	return strings.Join(append(w, src, q(DirArg(c.Dst))), " ")
}

// list is the list argument: ListExpr as is, else List quoted.
func (c Command) list() string {
	if c.ListExpr != "" {
		return c.ListExpr
	}
	return Quote(c.List)
}

// RsyncPattern turns an exclude glob (a name pattern, or a path pattern
// relative to SRC when it holds "/") into the rsync pattern that excludes
// the same entries: name patterns match in every directory; path patterns
// are anchored at the transfer root.
func RsyncPattern(glob string) string {
	if strings.Contains(glob, "/") {
		return "/" + strings.Trim(glob, "/")
	}
	return glob
}

// RclonePatterns are the rclone filters for an exclude glob: the entry
// itself and, should it be a directory, everything below it.
func RclonePatterns(glob string) []string {
	p := glob
	if strings.Contains(glob, "/") {
		p = "/" + strings.Trim(glob, "/")
	}
	return []string{p, p + "/**"}
}

// FollowsLinks reports whether rclone arguments ask it to follow symbolic
// links (-L, --copy-links, alone or among other short flags).
func FollowsLinks(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--copy-links" || strings.HasPrefix(a, "--copy-links=") && a != "--copy-links=false" {
			return true
		}
		if len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a, 'L') {
			return true
		}
	}
	return false
}

// ListDst returns the shell text of an rclone lsjson of the entries of
// c.List as DST holds them (path and size of each file found, JSON), with
// c.Args but those only rclone copy takes (--create-empty-src-dirs) or
// that write to stdout (-P, --progress), written to out. It is how a copy
// of a list is checked: rclone ignores listed files it cannot find.
func (c Command) ListDst(out string) string {
	q := Quote
	w := []string{"rclone", "lsjson", "-R", "--files-only", "--no-mimetype", "--no-modtime", "--files-from-raw", q(c.List)}
	for _, a := range c.Args {
		switch a {
		case "--create-empty-src-dirs", "-P", "--progress":
			continue
		}
		w = append(w, q(a))
	}
	// rclone exits 3 ("directory not found") when DST does not exist yet
	// (a partition that copied nothing, only links say): DST then holds
	// none of the list.
	return strings.Join(append(w, q(SafeLead(c.Dst)), ">"+q(out)), " ") + ` || { [ $? -eq 3 ] && echo '[]' >` + q(out) + `; }`
}
