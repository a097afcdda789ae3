package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCIRunsTheREADMETestCommand: .ci/run runs the test command README.md
// gives (the quick tier) exactly, on a line of its own, and then the slow
// tier (-tags slow); and it vets with the slow tag too, since go vet
// without it skips the slow tier's files. See CONTRIBUTING.md, "Tests".
func TestCIRunsTheREADMETestCommand(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	ci, err := os.ReadFile(".ci/run")
	require.NoError(t, err)

	m := regexp.MustCompile(`(?m)^apt-get .* && (go test [^\n]*)$`).FindSubmatch(readme)
	require.NotNil(t, m, "README.md has no line 'apt-get ... && go test ...'")
	quick := string(m[1])
	require.NotContains(t, quick, "-tags", "the README's test command is the quick tier")

	lines := strings.Split(string(ci), "\n")
	at, slowAt := -1, -1
	for i, l := range lines {
		switch {
		case l == quick:
			at = i
		case strings.HasPrefix(l, "go test ") && strings.Contains(l, " -race ") && strings.Contains(l, " -tags slow ") && strings.HasSuffix(l, " ./..."):
			slowAt = i
		}
	}
	require.GreaterOrEqual(t, at, 0, ".ci/run does not run the README's test command %q", quick)
	require.Greater(t, slowAt, at, ".ci/run does not run the slow tier (go test -race -tags slow ... ./...) after the quick one")
	require.Regexp(t, `(?m)^\s*(GOOS=\S+ )*(GOARCH=\S+ )*go vet -tags slow \./\.\.\.$`, string(ci), ".ci/run does not vet the slow tier's files")
}
