package syncer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/copytool"
	"github.com/stretchr/testify/require"
)

// TestCopyAsksOncePerNode: a node's copies ask its rsync for its version
// once (the first copy, which reports it; drove tells the others), never
// run date (drove gives each attempt's start) and make the work
// directories once: each is a process per partition otherwise. The log
// headers still give each attempt's start, in date -u's format.
func TestCopyAsksOncePerNode(t *testing.T) {
	needTool(t, "rsync")
	if runtime.GOOS == "windows" {
		t.Skip("no rsync daemon over sh")
	}
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	for name, log := range map[string]string{
		"rsync": `case $1 in --version) echo rsync-version >>'` + calls + `';; esac;`,
		"date":  `echo date >>'` + calls + `';`,
		"mkdir": `echo mkdir >>'` + calls + `';`,
	} {
		real, err := exec.LookPath(name)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+log+"\nexec '"+real+"' \"$@\"\n"), 0o755))
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	src, dst, work := partTree(t, dir, 12), filepath.Join(dir, "dst"), filepath.Join(dir, "work")
	start := time.Now().Add(-time.Second).Truncate(time.Second)
	res, err := Run(context.Background(), Options{
		Src: src, Dst: dst, Work: work, Tool: copytool.Rsync, MaxFiles: 3, FinalPass: true, Nodes: localNodes(1),
	})
	require.NoError(t, err)
	require.True(t, res.OK(), "failed %+v final %v", res.Failed, res.FinalErr)
	end := time.Now().Add(time.Second)
	requireRsyncSame(t, src, dst)

	logs, err := filepath.Glob(filepath.Join(work, "log", "1", "part.*.log"))
	require.NoError(t, err)
	require.Greater(t, len(logs), 2, "the test needs several partitions on the node")
	b, err := os.ReadFile(calls)
	require.NoError(t, err)
	require.Equal(t, "mkdir\nrsync-version\n", string(b), "processes the copies started besides their rsyncs")

	for _, log := range append(logs, filepath.Join(work, "log", "final.log")) {
		b, err := os.ReadFile(log)
		require.NoError(t, err)
		header, _, _ := strings.Cut(string(b), "\n")
		when, ok := strings.CutPrefix(header, "== ")
		require.True(t, ok, "%s: %q", log, header)
		when = when[:len(logDateLayout)]
		at, err := time.Parse(logDateLayout, when)
		require.NoError(t, err, "%s: %q", log, header)
		require.True(t, !at.Before(start) && !at.After(end), "%s: %s is not within the run (%s to %s)", log, at, start, end)
		out, err := exec.Command("date", "-u", "-d", at.Format(time.RFC3339)).Output()
		require.NoError(t, err)
		require.Equal(t, strings.TrimSpace(string(out)), when, "the header's date is written as date -u writes it")
	}
}

// TestDaemonConfigWhereTmpIsUnusable: the daemon (rsyncd.sh) reads its
// configuration through a pipe, so a node whose temporary directory is
// missing, full or read-only still serves SRC; where /dev/fd cannot show
// the pipe it writes a private temporary file instead, and removes it.
func TestDaemonConfigWhereTmpIsUnusable(t *testing.T) {
	needTool(t, "rsync")
	if runtime.GOOS == "windows" {
		t.Skip("no rsync daemon over sh")
	}
	noDevFd := strings.Replace(rsyncdSh, "[ -e /dev/fd/3 ]", "false", 1)
	require.NotEqual(t, rsyncdSh, noDevFd)
	modules := []string{"user"}
	if os.Geteuid() == 0 {
		modules = append(modules, "root")
	}
	for _, tc := range []struct {
		name, script string
		tmp          bool // TMPDIR is a fresh directory (else one that does not exist)
	}{
		{"pipe", rsyncdSh, false},
		{"file", noDevFd, true},
	} {
		for _, module := range modules {
			t.Run(tc.name+"/"+module, func(t *testing.T) {
				dir := t.TempDir()
				src, dst, tmp := partTree(t, dir, 4), filepath.Join(dir, "dst"), filepath.Join(dir, "no-such-tmp")
				if tc.tmp {
					tmp = filepath.Join(dir, "tmp")
					require.NoError(t, os.Mkdir(tmp, 0o700))
				}
				cmd := exec.Command("rsync", "-a", "-e", rshCommand, "--rsync-path="+daemonCommand(tc.script, src), daemonHost+"::"+module+"/", dst+"/")
				cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "%s", out)
				requireRsyncSame(t, src, dst)
				if tc.tmp {
					left, err := os.ReadDir(tmp)
					require.NoError(t, err)
					require.Empty(t, left, "the daemon's configuration file is removed")
				}
			})
		}
	}
}

// requireRsyncSame fails unless rsync finds nothing to change from src to
// dst (contents by checksum, types, modes, times, links; nothing extra).
func requireRsyncSame(t *testing.T, src, dst string) {
	t.Helper()
	out, err := exec.Command("rsync", "-a", "-n", "-i", "-c", "--delete", src+"/", dst+"/").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, string(out), "rsync -n -i -c --delete finds differences")
}

// TestNodeCommandEnv: a copy's text gets drove_date and drove_rsync (set
// empty while the node's rsync is unknown, so that the node's own
// environment cannot answer for it); other texts are run as they are.
func TestNodeCommandEnv(t *testing.T) {
	o := Options{Src: "/s", Dst: "/d", Work: "/w", Tool: copytool.Rsync, nonce: "n0"}
	m := &migration{o: o, copyPrefix: copyScriptPrefix()}
	cmd := o.finalCommandKeep("", keep{})
	node := Node{}
	for rsync, want := range map[string]string{"": "drove_rsync= ", "bogus": "drove_rsync= ", rsyncPlain: "drove_rsync=plain ", rsyncTrustSender: "drove_rsync=trust-sender "} {
		got := m.nodeCommand(node, rsync, cmd)
		env, ok := strings.CutSuffix(got, cmd)
		require.True(t, ok, "the copy's text follows its environment")
		date, rest, ok := strings.Cut(strings.TrimPrefix(env, "drove_date='"), "' ")
		require.True(t, ok && strings.HasPrefix(env, "drove_date='"), "%q", env)
		_, err := time.Parse(logDateLayout, date)
		require.NoError(t, err)
		require.Equal(t, want, rest)
	}
	for _, other := range []string{o.cleanupCommand(), "true"} {
		require.Equal(t, other, m.nodeCommand(node, rsyncPlain, other))
	}
}
