package syncer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WorkRequiredError is a sync with a remote node and no work directory:
// the default one is private to this machine and user, and remote nodes
// must see the work directory (at the same path, on shared storage).
type WorkRequiredError struct {
	Node string // the first remote node
}

func (e *WorkRequiredError) Error() string {
	return fmt.Sprintf("sync: remote node %s needs a work directory on storage every node sees at the same path", e.Node)
}

// UnsafeWorkError is a default work directory (or a directory above it
// that drove created) that another user could have planted or can write
// to: not a real directory (a symbolic link), not owned by this user, or
// writable by group or others. Its journal is not trusted.
type UnsafeWorkError struct {
	Path, Reason string
}

func (e *UnsafeWorkError) Error() string {
	return fmt.Sprintf("sync: refusing work directory %s: %s", e.Path, e.Reason)
}

// stateDir is where default work directories live: $XDG_STATE_HOME/drove,
// else ~/.local/state/drove.
func stateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "drove"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("sync: no default work directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "drove"), nil
}

// DefaultWork returns the default work directory of a sync of src to dst
// with tool (only for syncs whose nodes are all this machine): a directory
// named after them under $XDG_STATE_HOME/drove/sync (or
// ~/.local/state/drove/sync), so the same command resumes. It does not
// create it.
func DefaultWork(src, dst, tool string) (string, error) {
	base, err := stateDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(src + "\x00" + dst + "\x00" + tool))
	return filepath.Join(base, "sync", hex.EncodeToString(sum[:6])), nil
}

// makePrivate creates dir and the missing directories above it with mode
// 0700, and checks dir and every directory of it below stop (the state
// directory's parent): each must be a directory, not a symbolic link,
// owned by this user and not writable by group or others.
func makePrivate(dir, stop string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sync: work directory: %w", err)
	}
	for p := dir; p != stop && p != filepath.Dir(p); p = filepath.Dir(p) {
		if err := checkPrivate(p); err != nil {
			return err
		}
	}
	return nil
}

func checkPrivate(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("sync: work directory: %w", err)
	}
	uid, ok := fileOwner(fi)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &UnsafeWorkError{Path: p, Reason: "it is a symbolic link"}
	case !fi.IsDir():
		return &UnsafeWorkError{Path: p, Reason: "it is not a directory"}
	case ok && uid != os.Geteuid():
		return &UnsafeWorkError{Path: p, Reason: fmt.Sprintf("it is owned by uid %d, not %d", uid, os.Geteuid())}
	case fi.Mode().Perm()&0o022 != 0:
		return &UnsafeWorkError{Path: p, Reason: fmt.Sprintf("others can write to it (mode %#o)", fi.Mode().Perm())}
	}
	return nil
}

// defaultWork fills in o.Work when it is empty: a *WorkRequiredError with
// a remote node, else DefaultWork. It returns the directory above which
// makePrivate stops checking ("" when o.Work was given).
func (o *Options) defaultWork() (string, error) {
	if o.Work != "" {
		return "", nil
	}
	for _, n := range o.Nodes {
		if !n.Local {
			return "", &WorkRequiredError{Node: n.Name}
		}
	}
	dst := o.Dst
	if !o.remoteDst() {
		dst = kernelClean(dst)
	}
	w, err := DefaultWork(filepath.Clean(o.Src), dst, o.Tool.String())
	if err != nil {
		return "", err
	}
	base, err := stateDir()
	if err != nil {
		return "", err
	}
	o.Work = w
	return filepath.Dir(base), nil
}

var errNotRegular = errors.New("not a regular file")
