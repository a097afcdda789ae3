package syncer

import (
	"context"
	"github.com/drove-dev/drove/copytool"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDeleteRefusedWhenSrcIsEmpty: --delete with an empty SRC (an
// unmounted file system's mount point) would empty DST; it is refused,
// nothing runs and DST is whole, unless DeleteEmptySrc (issue 19.5).
func TestDeleteRefusedWhenSrcIsEmpty(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFiles(t, src, "")
	o := Options{Src: src, Dst: dst, Work: filepath.Join(dir, "w"), Tool: copytool.Rsync,
		MaxFiles: 3, FinalPass: true, Delete: true, Nodes: localNodes(2)}
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK())
	before := snapshot(t, dst)
	require.NotEmpty(t, before)

	require.NoError(t, os.RemoveAll(src))
	require.NoError(t, os.Mkdir(src, 0o755))
	_, err = Run(context.Background(), o)
	var dr *DeleteRefusedError
	require.ErrorAs(t, err, &dr)
	require.True(t, dr.Empty)
	require.Equal(t, before, snapshot(t, dst))

	o.DeleteEmptySrc = true
	res, err = Run(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.OK())
	require.Empty(t, snapshot(t, dst))
}
