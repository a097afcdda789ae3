package syncer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/shquote"
	"github.com/stretchr/testify/require"
)

// TestTrustSenderOnlyWhereRsyncHasIt: copy.sh gives the rsync that reads
// through drove's daemon --trust-sender (drove_ts) when the node's rsync
// says it is 3.2.5 or later, and never to an older rsync, to openrsync
// (macOS: "openrsync: protocol version 29") or to one whose --version
// fails, all of which would refuse the option.
func TestTrustSenderOnlyWhereRsyncHasIt(t *testing.T) {
	for _, c := range []struct {
		version string // what the fake rsync's --version prints; "" fails
		trust   bool
	}{
		{"rsync  version 3.2.7  protocol version 31\nCopyright (C) 1996-2022 by Andrew Tridgell", true},
		{"rsync  version 3.2.5  protocol version 31", true},
		{"rsync  version 3.5.0  protocol version 32", true},
		{"rsync  version 3.10.1  protocol version 32", true},
		{"rsync  version 4.0  protocol version 33", true},
		{"rsync  version 3.2.4  protocol version 31", false},
		{"rsync  version 3.1.3  protocol version 31", false},
		{"rsync  version 2.6.9  protocol version 29", false},
		{"openrsync: protocol version 29\nrsync version 2.6.9 compatible", false},
		{"", false},
	} {
		dir := t.TempDir()
		bin := filepath.Join(dir, "bin")
		require.NoError(t, os.Mkdir(bin, 0o755))
		fake := "#!/bin/sh\n"
		if c.version == "" {
			fake += "exit 1\n"
		} else {
			fake += "printf '%s\\n' " + shquote.Quote(c.version) + "\n"
		}
		require.NoError(t, os.WriteFile(filepath.Join(bin, "rsync"), []byte(fake), 0o755))
		for _, d := range []string{"src", "dst", "work"} {
			require.NoError(t, os.Mkdir(filepath.Join(dir, d), 0o755))
		}
		o := Options{Src: filepath.Join(dir, "src"), Dst: filepath.Join(dir, "dst"), Work: filepath.Join(dir, "work"), Tool: copytool.Rsync}
		got := filepath.Join(dir, "ts")
		line := `printf '%s' "$drove_ts" >` + shquote.Quote(got)
		cmd := exec.Command("sh", "-c", o.copyScript("rsync", line, "", "", filepath.Join(dir, "work", "log", "1.log"), keep{}))
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		b, err := os.ReadFile(got)
		require.NoError(t, err)
		want := ""
		if c.trust {
			want = "--trust-sender"
		}
		require.Equal(t, want, string(b), "rsync --version: %q", strings.SplitN(c.version, "\n", 2)[0])
	}
}
