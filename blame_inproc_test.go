//go:build unix

package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
)

// TestInProcessSSHPoisonJobsCannotDrainFleet is issue 21's run: 3 jobs that
// exit 1 among 40 on 8 nodes evicted every node and 16 jobs never ran. Now
// each failing job is failed after 3 nodes, the nodes it evicted come back
// (a line says which job was at fault), and the other 37 jobs run.
func TestInProcessSSHPoisonJobsCannotDrainFleet(t *testing.T) {
	f := sshtest.NewFleet(t, 8, sshtest.Options{})
	args := []string{"-F", f.SSHConfig}
	for _, n := range f.Names {
		args = append(args, "-n", n)
	}
	long := "exit 1 # " + strings.Repeat("x", 200)
	for i := range 40 {
		job := fmt.Sprintf("echo job %d", i)
		switch i {
		case 3, 17:
			job = fmt.Sprintf("exit 1 # %d", i)
		case 30:
			job = long
		}
		args = append(args, "-j", job)
	}
	r := drove(t, nil, nil, args...)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Equal(t, 37, strings.Count(r.stdout, "\n"), r.stderr)
	require.NotContains(t, r.stderr, "never ran")
	require.Contains(t, r.stderr, "drove: 37 of 40 jobs succeeded, 3 failed\n", "no node evicted at the end")
	require.Regexp(t, `drove: node node\d readmitted: job 'exit 1 # 3' failed on 3 nodes, the job is at fault\n`, r.stderr)
	require.Equal(t, 9, strings.Count(r.stderr, " readmitted: "), r.stderr)
	// The long job (the 31st) is named by its number and first 97 characters.
	require.Contains(t, r.stderr, "readmitted: job 31 '"+long[:97]+"...' failed on 3 nodes")
}
