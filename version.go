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

// versionString says which drove this is, from the build information the
// Go toolchain records: the module version of an installed binary (go
// install ...@v1.2.3), or for a build from a checkout the VCS revision, its
// time and whether the tree had uncommitted changes.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "drove (no build information) " + runtime.Version()
	}
	return formatVersion(bi)
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
