package syncer

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockFile takes an exclusive lock on f without waiting, held until f is
// closed or the process dies. busy reports that another holder has it.
func lockFile(f *os.File) (busy bool, err error) {
	var ol windows.Overlapped
	err = windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return true, nil
	}
	return false, err
}

// openNoFollow: Windows opens have no such flag; the work directory's
// owner and permissions are checked instead.
const openNoFollow = 0

// fileOwner: Windows files have no uid; ownership is not checked.
func fileOwner(os.FileInfo) (int, bool) { return 0, false }
