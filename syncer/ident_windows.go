//go:build windows

package syncer

import "os"

// fileIdent reports no identity on Windows: overlaps are compared by
// their resolved spelling only.
func fileIdent(os.FileInfo) (ident, bool) { return ident{}, false }
