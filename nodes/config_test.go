package nodes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drove-dev/drove/hostlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noAgent is an Options.AgentSocket value that disables the agent.
func noAgent() *string { s := ""; return &s }

// logRecorder collects Logf notes; safe for concurrent use.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *logRecorder) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "testdata", "nodes", name))
	require.NoError(t, err)
	return p
}

func newTestDialer(t *testing.T, opts Options) (*Dialer, *logRecorder) {
	t.Helper()
	if opts.Home == "" {
		opts.Home = t.TempDir()
	}
	if opts.AgentSocket == nil {
		opts.AgentSocket = noAgent()
	}
	rec := &logRecorder{}
	if opts.Logf == nil {
		opts.Logf = rec.Logf
	}
	d, err := NewDialer(opts)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d, rec
}

func resolve(t *testing.T, d *Dialer, spec string) *Target {
	t.Helper()
	s, err := hostlist.ParseSpec(spec)
	require.NoError(t, err)
	tg, err := d.Resolve(s)
	require.NoError(t, err)
	return tg
}

func TestResolveFixture(t *testing.T) {
	home := t.TempDir()
	d, rec := newTestDialer(t, Options{ConfigFile: fixture(t, "ssh_config"), Home: home})

	// Host pattern with negation: web-1 matches the first block.
	web := resolve(t, d, "web-1")
	assert.Equal(t, "web-1", web.Alias)
	assert.Equal(t, "web-1", web.HostName)
	assert.Equal(t, 2222, web.Port)
	assert.Equal(t, "deploy", web.User)
	assert.Equal(t, []string{filepath.Join(home, ".ssh", "id_web"), "/keys/deploy@web-1:2222-%"}, web.IdentityFiles)
	assert.True(t, web.IdentitiesOnly)
	assert.Equal(t, "web-1:2222", web.Addr())
	assert.Equal(t, "web-1", web.String())
	assert.Equal(t, 11*time.Second, web.ServerAliveInterval, "from Host *")
	assert.Equal(t, "yes", web.StrictHostKeyChecking, "ask (default) means yes")
	assert.Equal(t, []string{filepath.Join(home, ".ssh", "known_hosts"), filepath.Join(home, ".ssh", "known_hosts2")}, web.KnownHostsFiles)
	assert.Equal(t, []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}, web.GlobalKnownHostsFiles)
	assert.Nil(t, web.Jump)

	// Values in the spec beat ssh_config, and feed % tokens.
	web = resolve(t, d, "2/bob@web-1:22")
	assert.Equal(t, 22, web.Port)
	assert.Equal(t, "bob", web.User)
	assert.Equal(t, "/keys/bob@web-1:22-%", web.IdentityFiles[1])
	assert.Equal(t, "bob@web-1:22", web.String())
	assert.Equal(t, 2, web.Spec.Slots)

	// The negated host falls through to Host *, with the default identities.
	bad := resolve(t, d, "web-bad")
	assert.Equal(t, "everyone", bad.User)
	assert.Equal(t, 22, bad.Port)
	assert.False(t, bad.IdentitiesOnly)
	assert.Equal(t, []string{
		filepath.Join(home, ".ssh", "id_rsa"), filepath.Join(home, ".ssh", "id_ecdsa"),
		filepath.Join(home, ".ssh", "id_ecdsa_sk"), filepath.Join(home, ".ssh", "id_ed25519"),
		filepath.Join(home, ".ssh", "id_ed25519_sk"),
	}, bad.IdentityFiles)

	a := resolve(t, d, "alias1")
	assert.Equal(t, "alias1.example.com", a.HostName)
	assert.Equal(t, "alias1.example.com:22", a.Addr())
	assert.Equal(t, "alias1", a.String())
	assert.Equal(t, 7*time.Second, a.ServerAliveInterval)
	assert.Equal(t, 9, a.ServerAliveCountMax)
	assert.Equal(t, 3*time.Second, a.ConnectTimeout)
	assert.Equal(t, "accept-new", a.StrictHostKeyChecking)
	assert.Equal(t, []string{filepath.Join(home, "kh1"), "/abs/kh2"}, a.KnownHostsFiles)
	assert.Empty(t, a.GlobalKnownHostsFiles)

	assert.Equal(t, "100%-percent", resolve(t, d, "percent").HostName)
	assert.Equal(t, "no", resolve(t, d, "offmode").StrictHostKeyChecking)
	assert.Equal(t, time.Duration(0), resolve(t, d, "nokeepalive").ServerAliveInterval)

	plain := resolve(t, d, "plain")
	assert.Equal(t, DefaultConnectTimeout, plain.ConnectTimeout)
	assert.Equal(t, DefaultServerAliveCountMax, plain.ServerAliveCountMax)

	// Bad values are noted and ignored.
	bv := resolve(t, d, "badvalues")
	assert.Equal(t, 22, bv.Port)
	assert.Equal(t, DefaultConnectTimeout, bv.ConnectTimeout)
	assert.Equal(t, "yes", bv.StrictHostKeyChecking)
	notes := strings.Join(rec.Lines(), "\n")
	assert.Contains(t, notes, `nodes: badvalues: ignoring ssh_config Port "notaport": bad port "notaport"`)
	assert.Contains(t, notes, `nodes: badvalues: ignoring ssh_config ConnectTimeout "soon"`)
	assert.Contains(t, notes, `nodes: badvalues: ignoring ssh_config StrictHostKeyChecking "maybe": treating it as "yes"`)

	// Local nodes need no resolution.
	local := resolve(t, d, "2/:")
	assert.True(t, local.Spec.Local())
	assert.Equal(t, ":", local.String())
	_, err := d.Dial(t.Context(), local)
	assert.EqualError(t, err, "nodes: the local node is not reached over SSH")
}

func TestResolveProxyJump(t *testing.T) {
	d, _ := newTestDialer(t, Options{ConfigFile: fixture(t, "ssh_config"), Jump: "jumper"})

	b := resolve(t, d, "behind")
	assert.Equal(t, "10.1.2.3", b.HostName)
	require.Len(t, b.Jump, 2)
	assert.Equal(t, "alice@bastion:2200", b.Jump[0].String())
	assert.Equal(t, "alice", b.Jump[0].User)
	assert.Equal(t, 2200, b.Jump[0].Port)
	assert.Equal(t, "hop2", b.Jump[1].String())
	assert.Equal(t, "hop2.internal", b.Jump[1].HostName, "each hop resolves through ssh_config")
	assert.Equal(t, "hopper", b.Jump[1].User)
	assert.Equal(t, 11*time.Second, b.Jump[1].ServerAliveInterval)

	// A hop's own ProxyJump is flattened in front of it.
	c := resolve(t, d, "chained")
	require.Len(t, c.Jump, 2)
	assert.Equal(t, "hop2", c.Jump[0].String())
	assert.Equal(t, "hop3", c.Jump[1].String())
	assert.Nil(t, c.Jump[0].Jump)
	assert.Nil(t, c.Jump[1].Jump)

	// Options.Jump applies only where ssh_config sets no ProxyJump, and not
	// to "ProxyJump none" hosts.
	p := resolve(t, d, "plain")
	require.Len(t, p.Jump, 1)
	assert.Equal(t, "jumper", p.Jump[0].String())
	assert.Equal(t, "everyone", p.Jump[0].User)
	assert.Nil(t, p.Jump[0].Jump, "--jump does not apply to the jump host itself")
	assert.Nil(t, resolve(t, d, "direct").Jump)

	_, err := d.Resolve(hostlist.Spec{Slots: 1, Host: "loop1"})
	assert.EqualError(t, err, "nodes: loop2: ProxyJump loop: loop1 -> loop2 -> loop1")
	_, err = d.Resolve(hostlist.Spec{Slots: 1, Host: "badjump"})
	assert.EqualError(t, err, `nodes: badjump: bad ProxyJump hop "2/hop2": not [user@]host[:port]`)

	d2, _ := newTestDialer(t, Options{ConfigFile: "none", Jump: "a@j1:2022, ssh://j2"})
	p = resolve(t, d2, "plain")
	require.Len(t, p.Jump, 2)
	assert.Equal(t, "a@j1:2022", p.Jump[0].String())
	assert.Equal(t, "j2", p.Jump[1].String())
	assert.Equal(t, "j2:22", p.Jump[1].Addr())

	_, err = NewDialer(Options{ConfigFile: "none", Home: t.TempDir(), Jump: "ok, bad host"})
	assert.EqualError(t, err, `nodes: bad jump host: bad node spec "bad host": bad character ' ' in host`)
}

func TestResolveNoConfig(t *testing.T) {
	home := t.TempDir()
	d, rec := newTestDialer(t, Options{ConfigFile: "none", Home: home, ConnectTimeout: 2 * time.Second})
	tg := resolve(t, d, "web1")
	assert.Equal(t, "web1", tg.HostName)
	assert.Equal(t, 22, tg.Port)
	assert.Equal(t, currentUser(), tg.User)
	assert.Equal(t, 2*time.Second, tg.ConnectTimeout)
	assert.Equal(t, DefaultServerAliveInterval, tg.ServerAliveInterval)
	assert.Equal(t, DefaultServerAliveCountMax, tg.ServerAliveCountMax)
	assert.Equal(t, "yes", tg.StrictHostKeyChecking)
	assert.Len(t, tg.IdentityFiles, 5)
	assert.Nil(t, tg.Jump)
	assert.Empty(t, rec.Lines())

	v6 := resolve(t, d, "[::1]:2222")
	assert.Equal(t, "[::1]:2222", v6.Addr())
}

func TestResolveStrictOverride(t *testing.T) {
	for _, tt := range []struct{ opt, want string }{
		{"yes", "yes"}, {"accept-new", "accept-new"}, {"no", "no"}, {"ask", "yes"}, {"off", "no"},
	} {
		d, _ := newTestDialer(t, Options{ConfigFile: fixture(t, "ssh_config"), StrictHostKeyChecking: tt.opt})
		assert.Equal(t, tt.want, resolve(t, d, "alias1").StrictHostKeyChecking, tt.opt)
	}
	_, err := NewDialer(Options{ConfigFile: "none", Home: t.TempDir(), StrictHostKeyChecking: "sometimes"})
	assert.EqualError(t, err, `nodes: bad StrictHostKeyChecking "sometimes" (want yes, accept-new or no)`)
}

func TestConfigMatchUser(t *testing.T) {
	// kevinburke/ssh_config rejected this whole file; drove evaluates Match.
	file := fixture(t, "ssh_config-match")
	d, rec := newTestDialer(t, Options{ConfigFile: file})
	tg := resolve(t, d, "web1")
	assert.Equal(t, "matched", tg.User)
	assert.Equal(t, 22, tg.Port)
	assert.Equal(t, 2, resolve(t, d, "bob@web1").Port)
	assert.Empty(t, rec.Lines())
}

func TestConfigUserFileAndInclude(t *testing.T) {
	home := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".ssh"), 0o700))
	cfg := "Include " + fixture(t, "included.conf") + "\n\nHost u1\n    User fromuserfile\n"
	require.NoError(t, os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(cfg), 0o600))

	d, _ := newTestDialer(t, Options{Home: home}) // ConfigFile "" = ~/.ssh/config (+ system file)
	assert.Equal(t, "fromuserfile", resolve(t, d, "u1").User)
	inc := resolve(t, d, "inc")
	assert.Equal(t, "included.example.com", inc.HostName)
	assert.Equal(t, []string{filepath.Join(home, ".ssh", "id_included")}, inc.IdentityFiles)

	// ~ in ConfigFile expands against Home.
	d2, _ := newTestDialer(t, Options{Home: home, ConfigFile: "~/.ssh/config"})
	assert.Equal(t, "fromuserfile", resolve(t, d2, "u1").User)

	_, err := NewDialer(Options{Home: home, ConfigFile: filepath.Join(home, "missing")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nodes: ssh_config: open "+filepath.Join(home, "missing"))
}
