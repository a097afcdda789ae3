package nodes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/hostlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzSSHConfig: any ssh_config bytes resolve without panicking, and
// resolution is deterministic.
func FuzzSSHConfig(f *testing.F) {
	for _, s := range []string{
		"Host a\n HostName %h.x\nMatch user u host a\n Port 2\n",
		"Match all\nMatch !all\nMatch\nMatch host\nMatch exec\n",
		"Host \"unterminated\n  User x\\\n",
		"Host=a,b\n  User=\"q u\" # c\n  ProxyJump a,b,ssh://c:1\n  ProxyCommand none\n",
		"Host *\n  IdentityFile %z\n  SetEnv =x A\n  SendEnv -*\n  LogLevel LOUD\n",
		"Match originalhost=a user=\n  Port 0\n  Port 99999\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if strings.Contains(strings.ToLower(data), "exec") || strings.Contains(strings.ToLower(data), "include") {
			return // no commands or file reads from fuzz input
		}
		home := t.TempDir()
		cfg := filepath.Join(home, "config")
		require.NoError(t, os.WriteFile(cfg, []byte(data), 0o600))
		d, err := NewDialer(Options{ConfigFile: cfg, Home: home, AgentSocket: noAgent()})
		require.NoError(t, err)
		for _, h := range []string{"a", "u@b:2", "c"} {
			s, err := hostlist.ParseSpec(h)
			require.NoError(t, err)
			t1, err1 := d.Resolve(s)
			t2, err2 := d.Resolve(s)
			assert.Equal(t, err1 == nil, err2 == nil)
			if err1 == nil {
				assert.Equal(t, t1.HostName, t2.HostName)
				assert.Equal(t, t1.Port, t2.Port)
				_, _ = d.Explain(s)
			}
		}
	})
}

func TestIncludeLoopBounded(t *testing.T) {
	// Three files including each other by glob: without a bound on
	// included files this is 3^16 reads.
	home := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		require.NoError(t, writeFile(filepath.Join(home, n+".conf"), "Include "+home+"/*.conf\nUser looped\n"))
	}
	d, rec := newTestDialer(t, Options{ConfigFile: filepath.Join(home, "a.conf"), Home: home})
	start := time.Now()
	tg := resolve(t, d, "x")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, "looped", tg.User)
	assert.Contains(t, strings.Join(rec.Lines(), "\n"), "files included; ignoring the rest")
}
