package sshtest

import "os/exec"

// shell returns "sh -c raw" (an sh on PATH, such as Git's).
func shell(raw string) *exec.Cmd { return exec.Command("sh", "-c", raw) }

// terminate kills the started command (Windows has no process-group
// signals).
func terminate(c *exec.Cmd) { _ = c.Process.Kill() }

// exitSignal reports no signal: Windows processes only exit.
func exitSignal(*exec.ExitError) (string, bool) { return "", false }
