//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// droveTo runs the CLI with its stdout and stderr given.
func droveTo(t *testing.T, stdout, stderr *os.File, args ...string) int {
	t.Helper()
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, drain: make(chan struct{})}
	return runWith(context.Background(), e, args)
}

// devFull opens /dev/full, where every write fails with ENOSPC: a full
// disk that the test does not have to fill.
func devFull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// tempOut is a file the test reads back.
func tempOut(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func readBack(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	return string(b)
}

// jobArgs are three jobs, each writing a line to stdout and to stderr.
var jobArgs = []string{"-n", "2/:", "-j", "echo out1; echo err1 >&2", "-j", "echo out2; echo err2 >&2", "-j", "echo out3; echo err3 >&2"}

// TestOutputWriteErrorsAreReported: a job output that cannot be written
// (a full disk) is reported once, with how many jobs' output was lost, and
// the run exits 1, whatever the destination: drove's stdout or stderr, -o
// FILE, -e FILE, or the gathered output of -b. Before, every such error
// was dropped and drove exited 0.
func TestOutputWriteErrorsAreReported(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		stdout bool // drove's own stdout is /dev/full
		stderr bool // drove's own stderr is /dev/full
		stream string
		lost   int
	}{
		{name: "stdout", stdout: true, stream: "stdout", lost: 3},
		{name: "-o FILE", args: []string{"-o", "/dev/full"}, stream: "stdout", lost: 3},
		{name: "-e FILE", args: []string{"-e", "/dev/full"}, stream: "stderr", lost: 3},
		{name: "gather", args: []string{"-b"}, stdout: true, stream: "--gather"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut := tempOut(t), tempOut(t)
			if c.stdout {
				out = devFull(t)
			}
			code := droveTo(t, out, errOut, append(append([]string{}, jobArgs...), c.args...)...)
			msgs := readBack(t, errOut)
			require.Equal(t, exitFailed, code, "stderr:\n%s", msgs)
			first := fmt.Sprintf("drove: %s: write /dev/full: no space left on device\n", c.stream)
			require.Equal(t, 1, strings.Count(msgs, first), "the first error is said once:\n%s", msgs)
			if c.lost > 0 {
				require.Contains(t, msgs, fmt.Sprintf("drove: %s: the output of %d jobs was lost in whole or part", c.stream, c.lost))
			}
		})
	}
	t.Run("own stderr", func(t *testing.T) {
		// Nothing can be said, but the exit status still tells.
		out := tempOut(t)
		code := droveTo(t, out, devFull(t), jobArgs...)
		require.Equal(t, exitFailed, code)
		require.Equal(t, 3, strings.Count(readBack(t, out), "out"), "stdout is unharmed")
	})
	t.Run("all written", func(t *testing.T) {
		out, errOut := tempOut(t), tempOut(t)
		require.Equal(t, exitOK, droveTo(t, out, errOut, jobArgs...), readBack(t, errOut))
		require.NotContains(t, readBack(t, errOut), "drove:")
		require.Equal(t, 3, strings.Count(readBack(t, out), "out"))
	})
}

// TestOutputToAFullFileSystem: drove's stdout is a file on a file system
// that fills up part way (a 64 KiB tmpfs, as root). What did fit is whole
// lines of the jobs, the error is reported, the run exits 1.
func TestOutputToAFullFileSystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	out, err := os.Create(filepath.Join(dir, "out.txt"))
	require.NoError(t, err)
	defer out.Close()
	var errOut testkit.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: out, stderr: &errOut, drain: make(chan struct{})}
	// 100 jobs of 2 KiB each: 200 KiB, three times what fits.
	args := []string{"-n", "4/:"}
	for i := 0; i < 100; i++ {
		args = append(args, "-j", fmt.Sprintf("i=0; while [ $i -lt 32 ]; do echo job%03d-line$i-%s; i=$((i+1)); done", i, strings.Repeat("x", 48)))
	}
	code := runWith(context.Background(), e, args)
	msgs := errOut.String()
	require.Equal(t, exitFailed, code, msgs)
	require.Contains(t, msgs, "drove: stdout: write "+out.Name()+": no space left on device\n")
	require.Equal(t, 1, strings.Count(msgs, "no space left on device"), msgs)
	require.Contains(t, msgs, "was lost in whole or part")
	written, err := os.ReadFile(out.Name())
	require.NoError(t, err)
	require.NotEmpty(t, written)
}
