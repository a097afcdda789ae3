package completion

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// maxIncludeDepth bounds ssh_config Include recursion (OpenSSH allows 16).
const maxIncludeDepth = 16

// Nodes returns the host names a user may mean by a node: the Host names
// of the ssh_config files (following Include; patterns with * ? or ! are
// left out) and the unhashed names of the known_hosts files (a [host]:port
// entry becomes host:port, as a node spec writes it; bare IP addresses,
// which CheckHostIP records beside names, are left out). sshDir is where
// relative Include paths are looked up and what ~ means there is home.
// Missing or unreadable files are skipped. The result is sorted, unique.
func Nodes(home, sshDir string, sshConfigs, knownHosts []string) []string {
	seen := map[string]bool{}
	for _, f := range sshConfigs {
		configHosts(f, home, sshDir, 0, seen)
	}
	for _, f := range knownHosts {
		knownHostNames(f, seen)
	}
	out := make([]string, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

func configHosts(path, home, sshDir string, depth int, seen map[string]bool) {
	if depth > maxIncludeDepth {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		kw, args := configLine(sc.Text())
		switch kw {
		case "host":
			for _, h := range args {
				if plainHost(h) {
					seen[h] = true
				}
			}
		case "include":
			for _, pat := range args {
				if strings.HasPrefix(pat, "~/") {
					pat = filepath.Join(home, pat[2:])
				} else if !filepath.IsAbs(pat) {
					pat = filepath.Join(sshDir, pat)
				}
				matches, _ := filepath.Glob(pat)
				for _, m := range matches {
					configHosts(m, home, sshDir, depth+1, seen)
				}
			}
		}
	}
}

// configLine splits an ssh_config line into its lower-cased keyword and
// arguments ("Host a b", "Host=a", quoted arguments).
func configLine(line string) (string, []string) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", nil
	}
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return strings.ToLower(line), nil
	}
	kw := strings.ToLower(line[:i])
	rest := strings.TrimLeft(line[i:], " \t")
	rest = strings.TrimLeft(strings.TrimPrefix(rest, "="), " \t")
	var args []string
	for rest != "" {
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return kw, args
			}
			args = append(args, rest[1:end+1])
			rest = strings.TrimLeft(rest[end+2:], " \t")
			continue
		}
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		if rest[0] == '#' {
			break
		}
		args = append(args, rest[:end])
		rest = strings.TrimLeft(rest[end:], " \t")
	}
	return kw, args
}

func knownHostNames(path string, seen map[string]bool) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if strings.HasPrefix(fields[0], "@") {
			if fields[0] != "@cert-authority" || len(fields) < 2 {
				continue // @revoked keys name no host to reach
			}
			fields = fields[1:]
		}
		if strings.HasPrefix(fields[0], "|") {
			continue // hashed
		}
		for _, h := range strings.Split(fields[0], ",") {
			if strings.HasPrefix(h, "[") {
				host, port, ok := strings.Cut(h[1:], "]:")
				if !ok {
					continue
				}
				if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
					continue
				}
				if !plainHost(host) {
					continue
				}
				if port != "22" {
					host += ":" + port
				}
				seen[host] = true
				continue
			}
			// Addresses come with names (CheckHostIP): offer the names.
			if plainHost(h) && net.ParseIP(h) == nil {
				seen[h] = true
			}
		}
	}
}

// plainHost: a name to offer, not a pattern, and safe to print one a line.
func plainHost(h string) bool {
	return h != "" && !strings.ContainsAny(h, "*?!,[]\\'\"` \t") && !strings.ContainsFunc(h, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
