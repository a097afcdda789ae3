package copytool

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFollowsLinks(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--links"}, false},
		{[]string{"-l", "-v"}, false},
		{[]string{"-L"}, true},
		{[]string{"-vL"}, true},
		{[]string{"--copy-links"}, true},
		{[]string{"--copy-links=true"}, true},
		{[]string{"--copy-links=false"}, false},
		{[]string{"--", "-L"}, false},
	} {
		require.Equal(t, tc.want, FollowsLinks(tc.args), "%q", tc.args)
	}
}
