package sshconfig

import (
	"fmt"
	"path/filepath"
	"strings"
)

// ExpandTilde replaces a leading "~" or "~/" with home. "~user" is left alone.
func ExpandTilde(s, home string) string {
	if s == "~" {
		return home
	}
	if strings.HasPrefix(s, "~/") {
		return filepath.Join(home, s[2:])
	}
	return s
}

// AbbrevHome shows a path under home as "~/...", for messages.
func AbbrevHome(p, home string) string {
	if home == "" || home == "/" {
		return p
	}
	if rel, ok := strings.CutPrefix(p, strings.TrimSuffix(home, "/")+"/"); ok {
		return "~/" + rel
	}
	return p
}

// ExpandTokens replaces OpenSSH percent tokens (%h, %p, %r, %u, %d, %n, %l,
// %%) from tok. An unknown token is an error, as in OpenSSH.
func ExpandTokens(s string, tok map[byte]string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("trailing %% in %q", s)
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := tok[s[i]]
		if !ok {
			return "", fmt.Errorf("unknown token %%%c in %q", s[i], s)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}
