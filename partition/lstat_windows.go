package partition

import "os"

// lstatSize returns the lstat size of p.
func lstatSize(p string) (int64, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return 0, err // an *fs.PathError, as on unix
	}
	return fi.Size(), nil
}
