package syncer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLogsFix: the command that lets a node's user write the logs makes
// WORK/log theirs (and WORK drove's user's when drove made it and so
// removed it), gives them one that is someone else's, and is none when it
// is theirs already or is not a directory.
func TestLogsFix(t *testing.T) {
	work := filepath.Join(t.TempDir(), "my work")
	require.NoError(t, os.Mkdir(work, 0o755))
	logs := filepath.Join(work, "log")
	u := nodeUser{uid: 1001, gid: 1002}

	require.Equal(t, "install -d -o 1001 -g 1002 '"+logs+"'", logsFix(work, false, u, 0, 0))
	require.Equal(t, "install -d -o 1001 -g 1002 '"+logs+"'", logsFix(work, true, u, 0, 0))
	require.Equal(t, "install -d -o 1000 -g 1000 '"+work+"' && install -d -o 1001 -g 1002 '"+logs+"'",
		logsFix(work, true, u, 1000, 1000))

	require.NoError(t, os.Mkdir(logs, 0o755))
	mine := nodeUser{uid: os.Geteuid(), gid: os.Getegid()}
	require.Equal(t, "", logsFix(work, false, mine, 0, 0), "the log directory is the user's already")
	if os.Geteuid() != u.uid {
		require.Equal(t, "chown -R 1001:1002 '"+logs+"'", logsFix(work, false, u, 0, 0))
	}
	require.NoError(t, os.Remove(logs))
	require.NoError(t, os.Symlink(t.TempDir(), logs))
	require.Equal(t, "", logsFix(work, false, u, 0, 0), "not a directory")
}
