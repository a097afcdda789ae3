package syncer

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// DeleteRefusedError is a sync with deletion refused because SRC looks
// like it is not the tree it was: it is empty (Empty), or it is on
// another device than the journal's last run saw it on (an unmounted file
// system shows the empty directory below it; a replaced one is another
// tree). Deleting what is in DST but not in SRC would then empty DST.
// Nothing was run.
type DeleteRefusedError struct {
	Src             string
	Empty           bool
	Dev, JournalDev uint64
}

func (e *DeleteRefusedError) Error() string {
	if e.Empty {
		return fmt.Sprintf("sync: refusing to delete: SRC %s is empty, and deleting what it lacks would empty DST", e.Src)
	}
	return fmt.Sprintf("sync: refusing to delete: SRC %s is on device %#x, not %#x as in the last run (not mounted, or another file system), and deleting what it lacks could empty DST",
		e.Src, e.Dev, e.JournalDev)
}

// emptySrc returns a *DeleteRefusedError when the directory src has no
// entry at all.
func emptySrc(src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("sync: SRC: %w", err)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); errors.Is(err, io.EOF) {
		return &DeleteRefusedError{Src: src, Empty: true}
	} else if err != nil {
		return fmt.Errorf("sync: SRC: %w", err)
	}
	return nil
}

// srcDevice is the device number of the directory src on this machine (0
// when the system has none to give).
func srcDevice(src string) uint64 {
	fi, err := os.Stat(src)
	if err != nil {
		return 0
	}
	id, ok := fileIdent(fi)
	if !ok {
		return 0
	}
	return id.dev
}
