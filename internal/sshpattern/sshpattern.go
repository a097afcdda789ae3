// Package sshpattern is OpenSSH's host and user pattern matching
// (match.c: match_pattern and match_pattern_list), shared by drove's
// ssh_config and known_hosts readers.
package sshpattern

import "strings"

// MatchList is OpenSSH's match_pattern_list: 1 when name matches a pattern
// and no negated ("!pattern") one, -1 when a negated pattern matches, 0 when
// none matches. With fold, name and patterns are compared in lower case.
func MatchList(name string, patterns []string, fold bool) int {
	if fold {
		name = strings.ToLower(name)
	}
	got := 0
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if fold {
			p = strings.ToLower(p)
		}
		if !Match(name, p) {
			continue
		}
		if neg {
			return -1
		}
		got = 1
	}
	return got
}

// Match is OpenSSH's match_pattern: it matches s against p, where * is any
// run of characters and ? any one character.
func Match(s, p string) bool {
	// Iterative matcher with backtracking to the last *, linear in practice.
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
