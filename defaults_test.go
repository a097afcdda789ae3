package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

func TestUserConfigPaths(t *testing.T) {
	home := func() (string, error) { return "/home/u", nil }
	noHome := func() (string, error) { return "", errors.New("no home") }
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	require.Equal(t, configPaths{System: "/etc/drove/config", User: "/home/u/.config/drove/config"}, userConfigPaths(env(), home))
	require.Equal(t, configPaths{System: "/etc/drove/config", User: "/x/drove/config"}, userConfigPaths(env("XDG_CONFIG_HOME", "/x"), home))
	// A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
	require.Equal(t, configPaths{System: "/etc/drove/config", User: "/home/u/.config/drove/config"}, userConfigPaths(env("XDG_CONFIG_HOME", "rel"), home))
	require.Equal(t, configPaths{System: "/etc/drove/config", User: "/c", Explicit: true}, userConfigPaths(env("DROVE_CONFIG", "/c", "XDG_CONFIG_HOME", "/x"), home))
	require.Equal(t, configPaths{System: "/etc/drove/config"}, userConfigPaths(env(), noHome))
}

// droveWith runs drove in-process with the given defaults files.
func droveWith(t *testing.T, cfg configPaths, args ...string) result {
	t.Helper()
	var out, errOut testkit.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, drain: make(chan struct{}), config: cfg}
	code := runWith(context.Background(), e, args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// defaultsLines is the "# defaults" block of a dry run.
func defaultsLines(t *testing.T, stdout string) []string {
	t.Helper()
	var out []string
	in := false
	for _, l := range strings.Split(stdout, "\n") {
		switch {
		case strings.HasPrefix(l, "# defaults"):
			in = true
		case strings.HasPrefix(l, "#"):
			in = false
		case in:
			out = append(out, l)
		}
	}
	return out
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "etc")
	user := filepath.Join(dir, "user")
	require.NoError(t, os.WriteFile(sys, []byte("[run]\non-failure = retry\ntimeout = 1h\nmax-attempts = 7\n"), 0o644))
	require.NoError(t, os.WriteFile(user, []byte("# mine\non-failure = keep\n[run]\ntimeout = 90\n[sync]\ntimeout = 2h\n"), 0o644))
	cfg := configPaths{System: sys, User: user}

	r := droveWith(t, cfg, "-n", ":", "-j", "true", "--dry-run")
	require.Equal(t, exitOK, r.code, r.stderr)
	// User beats /etc even when /etc's key is in a section; a section beats
	// the keys outside sections of the same file; [sync] is not run's.
	require.Equal(t, []string{
		"--max-attempts=7\tfrom " + sys + ":4",
		"--on-failure=keep\tfrom " + user + ":2",
		"--timeout=90\tfrom " + user + ":4",
	}, defaultsLines(t, r.stdout))

	// The command line beats both, and its flags are not listed.
	r = droveWith(t, cfg, "-n", ":", "-j", "true", "--dry-run", "--on-failure=evict", "--timeout", "5")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, []string{"--max-attempts=7\tfrom " + sys + ":4"}, defaultsLines(t, r.stdout))

	// Without files nothing is listed.
	r = droveWith(t, configPaths{System: filepath.Join(dir, "none"), User: filepath.Join(dir, "none2")}, "-n", ":", "-j", "true", "--dry-run")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Nil(t, defaultsLines(t, r.stdout))
	require.NotContains(t, r.stdout, "# defaults")
}

// The defaults take effect: on-failure = keep keeps the local node, as
// --on-failure keep does (see TestExitStatuses), and status = true draws
// the status line.
func TestConfigDefaultsTakeEffect(t *testing.T) {
	user := writeFile(t, "config", "on-failure = keep\n")
	r := droveWith(t, configPaths{User: user}, "-n", ":", "-j", "exit 3")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "failed for good")
	require.Contains(t, r.stderr, "0 of 1 jobs succeeded, 1 failed\n")

	r = droveWith(t, configPaths{User: user}, "-n", ":", "-j", "exit 3", "--on-failure", "evict")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "evicted node local")

	// A repeatable flag takes every line of the key, in order.
	user = writeFile(t, "config", "[run]\nnode = :\njob = echo one\njob = echo two\n")
	r = droveWith(t, configPaths{User: user})
	require.Equal(t, exitOK, r.code, r.stderr)
	require.ElementsMatch(t, []string{"one", "two"}, strings.Fields(r.stdout))

	// A required flag may come from the file.
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
	parts := filepath.Join(t.TempDir(), "parts")
	user = writeFile(t, "config", "[partition]\nout = "+parts+"\nmode = list\nfiles = 100\n")
	r = droveWith(t, configPaths{User: user}, "partition", src)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, filepath.Join(parts, "part.000001")+"\n", r.stdout)
}

func TestConfigBadLines(t *testing.T) {
	cases := []struct{ in, want string }{
		{"bogus = 1", ":1: unknown key \"bogus\": no command has --bogus"},
		{"# ok\nstatus", ":2: want key = value"},
		{"[sync]\njob = x", ":2: unknown key \"job\" in [sync]: drove sync has no --job"},
		{"[nope]\n", ":1: unknown section [nope]: want one of copy, partition, rcopy, run, sync"},
		{"[version]\n", ":1: unknown section [version]"},
		{"on-failure = maybe", ":1: bad value for on-failure: want one of evict, retry, keep, got \"maybe\""},
		{"[sync]\nfiles = many", ":2: bad value for files:"},
		{"timeout = soon", ":1: bad value for timeout: \"soon\" is not a duration"},
		{"status = maybe", ":1: bad value for status:"},
		{"mode = list", ":1: bad value for mode: want one of rsync, rclone, got \"list\" (it suits another command: put it under that command's [section])"},
		{"status = true\nstatus = false", ":2: status given twice (first on line 1)"},
		{"help = true", "unknown key \"help\""},
		{"stdout =", ":1: bad value for stdout: empty value"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			user := writeFile(t, "config", c.in)
			for _, cfg := range []configPaths{{User: user}, {System: user}, {User: user, Explicit: true}} {
				r := droveWith(t, cfg, "-n", ":", "-j", "true")
				require.Equal(t, exitUsage, r.code, r.stderr)
				require.Equal(t, "drove: "+user, r.stderr[:len("drove: ")+len(user)])
				require.Contains(t, r.stderr, c.want)
				require.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
				require.Empty(t, r.stdout)
			}
		})
	}

	// $DROVE_CONFIG must exist; the usual files need not.
	missing := filepath.Join(t.TempDir(), "missing")
	r := droveWith(t, configPaths{User: missing, Explicit: true}, "-n", ":", "-j", "true")
	require.Equal(t, exitUsage, r.code)
	require.Equal(t, "drove: "+missing+": no such file or directory\n", r.stderr)
	r = droveWith(t, configPaths{User: missing, System: missing}, "-n", ":", "-j", "true")
	require.Equal(t, exitOK, r.code, r.stderr)
}
