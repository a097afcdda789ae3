package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatVersion(t *testing.T) {
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}}
	require.Equal(t, "drove v1.4.0 go1.26.8", formatVersion(installed))

	checkout := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261129052253-5d305f6abc12+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "5d305f6abc1234567890"}, {Key: "vcs.time", Value: "2026-11-29T05:22:53Z"}, {Key: "vcs.modified", Value: "true"}}}
	require.Equal(t, "drove v0.0.0-20261129052253-5d305f6abc12+dirty revision 5d305f6abc12 2026-11-29T05:22:53Z dirty go1.26.8", formatVersion(checkout))

	bare := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	require.Equal(t, "drove (devel) (built without version control information) go1.26.8", formatVersion(bare))
}

func TestFormatStamp(t *testing.T) {
	require.Equal(t, "drove v1.4.0 revision 5d305f6abc12 go1.26.8", formatStamp("v1.4.0", "5d305f6abc12", "go1.26.8"))
	require.Equal(t, "drove snapshot go1.26.8", formatStamp("snapshot", "", "go1.26.8"))
}

// The version printed is never a bare "dev": both spellings print what the
// build recorded.
func TestVersionCommands(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-V"}, {"version"}} {
		r := drove(t, nil, nil, args...)
		require.Equal(t, exitOK, r.code, args)
		require.True(t, strings.HasPrefix(r.stdout, "drove "), r.stdout)
		require.NotEqual(t, "drove dev\n", r.stdout)
		require.Equal(t, versionString()+"\n", r.stdout)
	}
}
