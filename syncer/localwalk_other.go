//go:build !unix

package syncer

import (
	"io/fs"
	"os"
)

// walkKeepsNothing is keepsNothing for the final pass's keep check
// (keep.sh's walk modes): keep.sh's `cd SRC && find . ! -name .`
// (pre-order, no link followed), each entry checked by keepChecker.same;
// a directory it cannot read fails it.
func walkKeepsNothing(src, dst string) bool {
	c := keepChecker{src: src, dst: dst}
	err := fs.WalkDir(os.DirFS(src+"/"), ".", func(rel string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		if !c.same(rel) {
			return fs.SkipAll
		}
		return nil
	})
	return err == nil && !c.kept
}
