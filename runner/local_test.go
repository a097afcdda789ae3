//go:build unix

package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLocalRunStatusAndSignal(t *testing.T) {
	l := &Local{}
	var out bytes.Buffer
	require.NoError(t, l.Run(context.Background(), "echo hi", &out, &out))
	require.Equal(t, "hi\n", out.String())
	require.Equal(t, &ExitError{Status: 3}, l.Run(context.Background(), "exit 3", &out, &out))
	err := l.Run(context.Background(), "kill -USR2 $$", &out, &out)
	require.Equal(t, &ExitError{Status: 128 + 12, Signal: "USR2"}, err)
}

// TestLocalCancelKillsTree: a cancelled local job dies with everything it
// started, even a child that ignores TERM.
func TestLocalCancelKillsTree(t *testing.T) {
	dir := t.TempDir()
	started, survived := filepath.Join(dir, "started"), filepath.Join(dir, "survived")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- (&Local{Grace: time.Second}).Run(ctx, "(trap '' TERM; sleep 3; touch "+survived+") & touch "+started+"; sleep 3", &bytes.Buffer{}, &bytes.Buffer{})
	}()
	require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	require.Eventually(t, func() bool { return !psHas(t, survived) }, 5*time.Second, 20*time.Millisecond)
	_, err := os.Stat(survived)
	require.True(t, os.IsNotExist(err))
}
