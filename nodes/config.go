package nodes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// sshConfig is the parsed ssh_config files in precedence order (the first
// value found wins, as in OpenSSH).
type sshConfig struct {
	files []*ssh_config.Config
}

// systemConfigFile is OpenSSH's system-wide client configuration.
const systemConfigFile = "/etc/ssh/ssh_config"

// loadSSHConfig reads the ssh_config files chosen by configFile ("" = the
// user's file then the system file, "none" = nothing, else that file alone,
// which must exist). A file that fails to parse is reported through logf with
// its name and position and then ignored: kevinburke/ssh_config rejects a whole
// file for one unsupported line such as `Match user`.
func loadSSHConfig(configFile, home string, logf func(string, ...any)) (*sshConfig, error) {
	var paths []string
	required := false
	switch configFile {
	case "none":
	case "":
		paths = []string{filepath.Join(home, ".ssh", "config"), systemConfigFile}
	default:
		paths = []string{expandTilde(configFile, home)}
		required = true
	}
	c := &sshConfig{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			if required || !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("nodes: ssh_config: %w", err)
			}
			continue
		}
		cfg, err := decodeConfig(data)
		if err != nil {
			logf("nodes: ignoring ssh_config %s", parseErrorAt(p, err))
			continue
		}
		c.files = append(c.files, cfg)
	}
	return c, nil
}

// decodeConfig parses one file, turning any panic inside the parser into an
// error so that bad input can never crash drove.
func decodeConfig(data []byte) (cfg *ssh_config.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			cfg, err = nil, fmt.Errorf("ssh_config: parser failed: %v", r)
		}
	}()
	return ssh_config.DecodeBytes(data)
}

var posRE = regexp.MustCompile(`^\((\d+), (\d+)\): (.*)$`)

// parseErrorAt formats a parse error as "FILE:LINE:COL: message" when the
// error carries a position, else "FILE: message".
func parseErrorAt(file string, err error) string {
	if m := posRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Sprintf("%s:%s:%s: %s", file, m[1], m[2], m[3])
	}
	return fmt.Sprintf("%s: %v", file, err)
}

// get returns the first value of key for alias over all files, or "".
func (c *sshConfig) get(alias, key string) string {
	for _, f := range c.files {
		if v, err := f.Get(alias, key); err == nil && v != "" {
			return v
		}
	}
	return ""
}

// getAll returns every value of key for alias over all files, in order (how
// OpenSSH accumulates IdentityFile).
func (c *sshConfig) getAll(alias, key string) []string {
	var all []string
	for _, f := range c.files {
		if v, err := f.GetAll(alias, key); err == nil {
			all = append(all, v...)
		}
	}
	return all
}

// expandTilde replaces a leading "~" or "~/" with home. "~user" is left alone.
func expandTilde(s, home string) string {
	if s == "~" {
		return home
	}
	if strings.HasPrefix(s, "~/") {
		return filepath.Join(home, s[2:])
	}
	return s
}

// abbrevHome shows a path under home as "~/...", for messages.
func abbrevHome(p, home string) string {
	if home == "" || home == "/" {
		return p
	}
	if rel, ok := strings.CutPrefix(p, strings.TrimSuffix(home, "/")+"/"); ok {
		return "~/" + rel
	}
	return p
}

// expandTokens replaces OpenSSH percent tokens (%h, %p, %r, %u, %d, %n, %l,
// %%) from tok. An unknown token is an error, as in OpenSSH.
func expandTokens(s string, tok map[byte]string) (string, error) {
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
