package sshconfig

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"time"
)

// Env is the local side of an evaluation: what % tokens, ~, Match localuser
// and Match exec see, and where problems are reported. The caller fills it
// in; the package reads no process state of its own.
type Env struct {
	Home      string // ~ and %d; relative Include paths of user files are under Home/.ssh
	LocalUser string // %u and Match localuser
	LocalHost string // %l (and %L, its first label)
	UID       int    // %i
	// Exec runs a Match exec command line (tokens already expanded) and
	// reports whether it exited with status 0; an error means it could not
	// run. It must return soon after ctx is done. nil = ShellExec.
	Exec func(ctx context.Context, command string) (bool, error)
	// NoteOnce reports a problem the first time key is seen (the caller
	// keeps the set of keys); nil = discard.
	NoteOnce func(key, format string, args ...any)
	// Logf reports a note every time; nil = discard.
	Logf func(format string, args ...any)
}

func (e *Env) noteOnce(key, format string, args ...any) {
	if e.NoteOnce != nil {
		e.NoteOnce(key, format, args...)
	}
}

func (e *Env) logf(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// display shows a path for messages, with the home directory as "~".
func (e *Env) display(p string) string { return AbbrevHome(p, e.Home) }

// ShellExec runs command as OpenSSH runs a Match exec: with $SHELL (else
// /bin/sh) -c, stdin and stdout on /dev/null, stderr discarded. It reports
// whether the command exited with status 0; an error is returned only when
// it could not be run. It is killed when ctx is done.
func ShellExec(ctx context.Context, command string) (bool, error) {
	shell := os.Getenv("SHELL")
	if shell == "" {
		shell = "/bin/sh"
	}
	x := exec.CommandContext(ctx, shell, "-c", command)
	x.WaitDelay = time.Second
	err := x.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee):
		return false, nil
	}
	return false, err
}
