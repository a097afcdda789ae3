package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// VersionCmd is "drove version".
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run(e *env) error {
	fmt.Fprintln(e.stdout, versionString())
	return nil
}

// Release builds (release/build.sh) stamp these at link time with
// -ldflags "-X main.stampVersion=v1.2.3 -X main.stampRevision=<git rev>":
// the Go toolchain's own VCS stamping is not used there because it misses
// git worktrees and source trees without .git. They are never written at
// run time.
var (
	stampVersion  string
	stampRevision string
)

// versionString says which drove this is: what a release build stamped,
// else the build information the Go toolchain records: the module version
// of an installed binary (go install ...@v1.2.3), or for a build from a
// checkout the VCS revision, its time and whether the tree had uncommitted
// changes.
func versionString() string {
	if stampVersion != "" {
		return formatStamp(stampVersion, stampRevision, runtime.Version())
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "drove (no build information) " + runtime.Version()
	}
	return formatVersion(bi)
}

// formatStamp is the version line of a release build.
func formatStamp(version, revision, goVersion string) string {
	out := "drove " + version
	if revision != "" {
		out += " revision " + revision
	}
	return out + " " + goVersion
}

func formatVersion(bi *debug.BuildInfo) string {
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "(devel)"
	}
	out := "drove " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += " revision " + rev
		if when != "" {
			out += " " + when
		}
		if dirty {
			out += " dirty"
		}
	}
	if v == "(devel)" && rev == "" {
		out += " (built without version control information)"
	}
	return out + " " + bi.GoVersion
}
