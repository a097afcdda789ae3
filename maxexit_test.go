package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMaxExitIsLargestJobStatus: -S/--max-exit exits with the largest final
// status of the jobs, as pdsh -S: an exit status as is, a signal as 128+n,
// a timeout as 124, a node that could not be reached as 255; without -S
// any failure is 1.
func TestMaxExitIsLargestJobStatus(t *testing.T) {
	keep := []string{"-n", "2/:", "--on-failure", "keep"}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"statuses", append(keep, "-j", "exit 3", "-j", "exit 7", "-j", "true"), 7},
		{"signal", append(keep, "-j", "exit 3", "-j", "kill -TERM $$"), 128 + 15},
		{"timeout", append(keep, "--timeout", "1", "--grace", "1s", "-j", "exit 3", "-j", "sleep 30"), 124},
		{"all succeeded", append(keep, "-j", "true", "-j", "exit 0"), 0},
		{"unreachable node", []string{"-F", "none", "-n", "127.0.0.1:1", "-n", ":", "-E", "exit 2"}, 255},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := drove(t, nil, nil, append([]string{"-S"}, tc.args...)...)
			require.Equal(t, tc.want, r.code, r.stderr)
			r = drove(t, nil, nil, append([]string{"--max-exit"}, tc.args...)...)
			require.Equal(t, tc.want, r.code, r.stderr)
			want := exitOK
			if tc.want != 0 {
				want = exitFailed
			}
			r = drove(t, nil, nil, tc.args...)
			require.Equal(t, want, r.code, r.stderr)
		})
	}
}
