package nodes

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/sshconfig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corpusDir copies testdata/sshconfig to a temporary directory with @DIR@
// replaced by that directory (so Include and Match exec paths are absolute)
// and creates the flag file Match exec tests for.
func corpusDir(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "testdata", "sshconfig"))
	require.NoError(t, err)
	dst := t.TempDir()
	err = filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, []byte(strings.ReplaceAll(string(data), "@DIR@", dst)), 0o644)
	})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dst, "flag-present"), nil, 0o644))
	return dst
}

// sshG runs `ssh -G -F file [-p port] [user@]host` with an empty HOME and
// returns its output as keyword -> values (in order).
func sshG(t *testing.T, file string, spec hostlist.Spec) map[string][]string {
	t.Helper()
	args := []string{"-G", "-F", file}
	if spec.Port != 0 {
		args = append(args, "-p", strconv.Itoa(spec.Port))
	}
	host := spec.Host
	if spec.User != "" {
		host = spec.User + "@" + host
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sshClient(t), append(args, host)...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "SHELL=/bin/sh", "FOO=/tmp/fwd.sock"}
	out, err := cmd.Output()
	require.NoError(t, err, "ssh -G %s", host)
	m := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		m[k] = append(m[k], v)
	}
	return m
}

// TestSSHConfigMatchesSSHG resolves every host named ("# host: SPEC") in the
// corpus testdata/sshconfig/*.conf with drove and with `ssh -G` (OpenSSH is
// the oracle) and compares the options drove uses. ssh -G prints IdentityFile,
// CertificateFile and ProxyCommand unexpanded; the test expands their %
// tokens from ssh's own resolved host, port and user.
func TestSSHConfigMatchesSSHG(t *testing.T) {
	sshClient(t)
	dir := corpusDir(t)
	u, err := user.Current()
	require.NoError(t, err)
	home := u.HomeDir // ssh expands ~ from the password database, not $HOME
	files, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	t.Setenv("FOO", "/tmp/fwd.sock")
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var specs []string
		for _, l := range strings.Split(string(data), "\n") {
			if s, ok := strings.CutPrefix(l, "# host: "); ok {
				specs = append(specs, strings.TrimSpace(s))
			}
		}
		require.NotEmpty(t, specs, "%s names no hosts", file)
		d, rec := newTestDialer(t, Options{ConfigFile: file, Home: home})
		for _, s := range specs {
			t.Run(filepath.Base(file)+"/"+s, func(t *testing.T) {
				spec, err := hostlist.ParseSpec(s)
				require.NoError(t, err)
				g := sshG(t, file, spec)
				tg, err := d.Resolve(spec)
				require.NoError(t, err)
				compareWithSSHG(t, d, tg, g, home)
			})
		}
		for _, l := range rec.Lines() {
			t.Logf("note: %s", l)
		}
	}
}

func compareWithSSHG(t *testing.T, d *Dialer, tg *Target, g map[string][]string, home string) {
	t.Helper()
	one := func(k string) string {
		if v := g[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	port, err := strconv.Atoi(one("port"))
	require.NoError(t, err)
	tok := map[byte]string{'h': one("hostname"), 'p': one("port"), 'r': one("user"), 'n': tg.Alias,
		'u': d.localUser, 'd': home, 'l': d.localHost, 'i': strconv.Itoa(os.Getuid())}
	expand := func(v string) string {
		e, err := sshconfig.ExpandTokens(v, tok)
		require.NoError(t, err, v)
		return sshconfig.ExpandTilde(e, home)
	}
	yes := func(k string) bool { v := one(k); return v == "yes" || v == "true" }

	assert.Equal(t, one("hostname"), tg.HostName, "hostname")
	assert.Equal(t, one("user"), tg.User, "user")
	assert.Equal(t, port, tg.Port, "port")

	var ids []string
	for _, f := range g["identityfile"] {
		if f == "~/.ssh/id_xmss" || f == "~/.ssh/id_dsa" {
			continue // OpenSSH defaults x/crypto cannot use
		}
		if p := expand(f); !containsStr(ids, p) {
			ids = append(ids, p)
		}
	}
	assert.Equal(t, ids, tg.IdentityFiles, "identityfile")
	var certs []string
	for _, f := range g["certificatefile"] {
		if p := expand(f); !containsStr(certs, p) {
			certs = append(certs, p)
		}
	}
	assert.Equal(t, certs, tg.CertificateFiles, "certificatefile")
	assert.Equal(t, yes("identitiesonly"), tg.IdentitiesOnly, "identitiesonly")

	if ct := one("connecttimeout"); ct == "none" {
		assert.Equal(t, d.connectTimeout, tg.ConnectTimeout, "connecttimeout")
	} else {
		n, _ := strconv.Atoi(ct)
		assert.Equal(t, time.Duration(n)*time.Second, tg.ConnectTimeout, "connecttimeout")
	}
	strict := map[string]string{"true": "yes", "ask": "yes", "false": "no", "accept-new": "accept-new"}[one("stricthostkeychecking")]
	assert.Equal(t, strict, tg.StrictHostKeyChecking, "stricthostkeychecking")
	kh := strings.Fields(one("userknownhostsfile"))
	if len(kh) == 1 && kh[0] == "none" {
		kh = nil
	}
	assert.Equal(t, kh, tg.KnownHostsFiles, "userknownhostsfile")
	assert.Equal(t, strings.Fields(one("globalknownhostsfile")), tg.GlobalKnownHostsFiles, "globalknownhostsfile")
	assert.Equal(t, yes("hashknownhosts"), tg.HashKnownHosts, "hashknownhosts")
	assert.Equal(t, yes("checkhostip"), tg.CheckHostIP, "checkhostip")
	assert.Equal(t, one("hostkeyalias"), tg.HostKeyAlias, "hostkeyalias")
	// OpenSSH's BatchMode sets ServerAliveInterval 300 when none is set;
	// drove keeps its own default (5s) then.
	if sai := one("serveraliveinterval"); sai != "0" && !(sai == "300" && yes("batchmode")) {
		n, _ := strconv.Atoi(sai)
		assert.Equal(t, time.Duration(n)*time.Second, tg.ServerAliveInterval, "serveraliveinterval")
	}
	assert.Equal(t, one("serveralivecountmax"), strconv.Itoa(tg.ServerAliveCountMax), "serveralivecountmax")
	assert.Equal(t, one("proxyjump"), tg.ProxyJump, "proxyjump")
	pc := ""
	if v := one("proxycommand"); v != "" {
		pc = expand(v)
	}
	assert.Equal(t, pc, tg.ProxyCommand, "proxycommand")
	ia := one("identityagent")
	if ia == "" {
		ia = tg.IdentityAgent // not set: drove's default applies
	}
	assert.Equal(t, ia, tg.IdentityAgent, "identityagent")
	switch fa := one("forwardagent"); fa {
	case "yes", "no":
		assert.Equal(t, fa == "yes", tg.ForwardAgent, "forwardagent")
	default:
		assert.True(t, tg.ForwardAgent, "forwardagent")
		assert.Equal(t, os.Getenv(strings.TrimPrefix(fa, "$")), tg.ForwardAgentSocket, "forwardagent socket")
	}
	assert.Equal(t, yes("batchmode"), tg.BatchMode, "batchmode")
	ll := one("loglevel")
	if ll == "DEBUG" {
		ll = "DEBUG1"
	}
	assert.Equal(t, ll, tg.LogLevel, "loglevel")
	assert.Equal(t, g["sendenv"], nilIfEmpty(tg.SendEnv), "sendenv")
	assert.Equal(t, g["setenv"], nilIfEmpty(tg.SetEnv), "setenv")
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
