package syncer

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/drove-dev/drove/copytool"
	"github.com/drove-dev/drove/internal/randhex"
)

// localRemote returns the directory of this machine that the rclone
// remote dst names, or "" when it names none (or drove cannot tell): an
// on-the-fly ":local:PATH" (or ":local,OPTS:PATH"), a configured remote of
// type local, or an alias whose target is one of those or a path, as
// `rclone config dump` on this machine describes them.
func (o *Options) localRemote(dst string) string {
	var conf map[string]map[string]string
	if o.RcloneConfig != nil {
		conf = o.RcloneConfig()
	} else {
		conf = rcloneConfig()
	}
	for range 8 { // aliases of aliases, at most this deep
		name, path, ok := strings.Cut(dst, ":")
		if !ok {
			break
		}
		if strings.HasPrefix(name, "/") || strings.Contains(name, "/") {
			return dst // a path with a colon further on
		}
		if name == "" {
			// ":local:PATH" is name "", then "local" (with ",OPTS")
			backend, rest, ok := strings.Cut(dst[1:], ":")
			if !ok {
				return ""
			}
			if b, _, _ := strings.Cut(backend, ","); b != "local" {
				return ""
			}
			return absFrom(rest)
		}
		name, _, _ = strings.Cut(name, ",")
		c, ok := conf[name]
		if !ok {
			return ""
		}
		switch c["type"] {
		case "local":
			return absFrom(path)
		case "alias":
			target := c["remote"]
			if path != "" {
				target = strings.TrimSuffix(target, "/") + "/" + path
			}
			if !strings.Contains(strings.SplitN(target, "/", 2)[0], ":") {
				return absFrom(target)
			}
			dst = target
		default:
			return ""
		}
	}
	return ""
}

// absFrom makes an rclone local path absolute (rclone takes a relative one
// from its current directory, which for drove's checks is drove's).
func absFrom(p string) string {
	if p == "" {
		p = "."
	}
	if filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return wd + string(filepath.Separator) + p
}

// rcloneConfig is this machine's rclone configuration, remote by remote
// (nil when rclone is not here or says nothing).
func rcloneConfig() map[string]map[string]string {
	out, err := exec.Command("rclone", "config", "dump").Output()
	if err != nil {
		return nil
	}
	var conf map[string]map[string]string
	if json.Unmarshal(out, &conf) != nil {
		return nil
	}
	return conf
}

// srcInsideRemote checks, for a remote DST drove cannot resolve to a
// directory here, that SRC is not visible inside it (an sftp or NFS remote
// onto the same storage): drove writes a marker file at the top of SRC and
// lists DST for its name with rclone on this machine. It returns an
// *OverlapError when DST holds the marker, nil when it does not or when
// drove cannot tell (SRC not writable here, no rclone here, DST not
// listable yet, which a DST that does not exist is not).
func (o *Options) srcInsideRemote(ctx context.Context) error {
	name := ".drove-marker." + randhex.String(12)
	marker := filepath.Join(o.Src, name)
	f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil
	}
	f.Close()
	defer os.Remove(marker)
	out, err := exec.CommandContext(ctx, "rclone", "lsf", "-R", "--files-only", "--include", name, copytool.SafeLead(o.Dst)).Output()
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(out), "\n") {
		if l == name || strings.HasSuffix(l, "/"+name) {
			at, sub := o.Dst, strings.TrimSuffix(strings.TrimSuffix(l, name), "/")
			if sub != "" && !strings.HasSuffix(at, ":") && !strings.HasSuffix(at, "/") {
				at += "/"
			}
			at += sub
			return &OverlapError{What: "SRC", Of: "DST", Path: o.Src, OfPath: o.Dst, Resolved: o.Src, OfResolved: o.Dst, SeenAt: at}
		}
	}
	return nil
}
