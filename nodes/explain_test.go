package nodes

import (
	"path/filepath"
	"testing"

	"github.com/drove-dev/drove/hostlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExplainOrigins(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	inc := filepath.Join(home, "inc.conf")
	require.NoError(t, writeFile(inc, "IdentityFile ~/.ssh/inc\n"))
	require.NoError(t, writeFile(cfg, `Host web1
    HostName 10.1.1.1
    IdentityFile ~/.ssh/web
    Include `+inc+`
Match user bob
    ProxyJump gw
Host gw
    ProxyJump gw0
    User gwuser
`))
	d, _ := newTestDialer(t, Options{ConfigFile: cfg, Home: home, StrictHostKeyChecking: "accept-new"})
	s, err := hostlist.ParseSpec("bob@web1:2200")
	require.NoError(t, err)
	got, err := d.Explain(s)
	require.NoError(t, err)
	m := map[string]Setting{}
	for _, x := range got {
		m[x.Option] = x
	}
	assert.Equal(t, Setting{"HostName", "10.1.1.1", "~/config:2"}, m["HostName"])
	assert.Equal(t, Setting{"User", "bob", "node spec"}, m["User"])
	assert.Equal(t, Setting{"Port", "2200", "node spec"}, m["Port"])
	assert.Equal(t, Setting{"IdentityFile", filepath.Join(home, ".ssh/web") + " " + filepath.Join(home, ".ssh/inc"), "~/config:3,~/inc.conf:1"}, m["IdentityFile"])
	assert.Equal(t, Setting{"ProxyJump", "gw", "~/config:6"}, m["ProxyJump"])
	assert.Equal(t, Setting{"StrictHostKeyChecking", "accept-new", "option"}, m["StrictHostKeyChecking"])
	assert.Equal(t, Setting{"ConnectTimeout", "10s", "default"}, m["ConnectTimeout"])
	assert.Equal(t, "ProxyJump gw\t# ~/config:6", m["ProxyJump"].String())

	// The chain: the first hop's own ProxyJump comes first.
	tg := resolve(t, d, "bob@web1")
	require.Len(t, tg.Jump, 2)
	assert.Equal(t, "gw0", tg.Jump[0].String())
	assert.Equal(t, "gwuser", tg.Jump[1].User)
}

func TestJumpLaterHopsOwnConfigIgnored(t *testing.T) {
	// ssh -J a,b: b is reached through a whatever b's own ProxyJump says.
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	require.NoError(t, writeFile(cfg, "Host n\n  ProxyJump a,b\nHost b\n  ProxyJump c\nHost a\n  ProxyJump z\n"))
	d, _ := newTestDialer(t, Options{ConfigFile: cfg, Home: home})
	tg := resolve(t, d, "n")
	var hops []string
	for _, h := range tg.Jump {
		hops = append(hops, h.String())
	}
	assert.Equal(t, []string{"z", "a", "b"}, hops)
}
