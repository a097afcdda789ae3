package sshpattern

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		s, p string
		want bool
	}{
		{"web1", "web1", true},
		{"web1", "web?", true},
		{"web10", "web?", false},
		{"web10", "web*", true},
		{"web", "web*", true},
		{"a.example.com", "*.example.com", true},
		{"example.com", "*.example.com", false},
		{"aXbXc", "a*b*c", true},
		{"aXbX", "a*b*c", false},
		{"", "*", true},
		{"", "?", false},
		{"Web1", "web1", false},
	} {
		assert.Equal(t, c.want, Match(c.s, c.p), "%q ~ %q", c.s, c.p)
	}
}

func TestMatchList(t *testing.T) {
	assert.Equal(t, 1, MatchList("web1", []string{"db*", "web*"}, false))
	assert.Equal(t, 0, MatchList("mail", []string{"db*", "web*"}, false))
	assert.Equal(t, -1, MatchList("web-bad", []string{"web*", "!web-bad"}, false), "a matching negation vetoes")
	assert.Equal(t, -1, MatchList("web-bad", []string{"!web-bad", "web*"}, false), "whatever its place")
	assert.Equal(t, 0, MatchList("db1", []string{"!web*"}, false), "a negation alone never matches")
	assert.Equal(t, 1, MatchList("WEB1", []string{"web*"}, true))
	assert.Equal(t, 0, MatchList("WEB1", []string{"web*"}, false))
}
