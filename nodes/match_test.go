//go:build unix

package nodes

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigNotUnderstoodReportedOnce: what drove cannot evaluate is named
// once per Dialer with file:line and what was ignored, however many hosts
// resolve through it, and the rest of the file still applies.
func TestConfigNotUnderstoodReportedOnce(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	require.NoError(t, os.WriteFile(cfg, []byte(`IgnoreUnknown UseKeychain
Host *
    UseKeychain yes
    FrobnicateHosts yes
    Ciphers aes128-ctr
    HostName "unterminated
Match localnetwork 10.0.0.0/8
    User lan
Match all
    User everyone
`), 0o600))
	d, rec := newTestDialer(t, Options{ConfigFile: cfg, Home: home})
	for _, h := range []string{"a", "b", "c"} {
		tg := resolve(t, d, h)
		assert.Equal(t, "everyone", tg.User)
		assert.Equal(t, h, tg.HostName)
	}
	assert.Equal(t, []string{
		`nodes: ~/config:6: ignoring hostname: unterminated quoted string`,
		`nodes: ~/config:4: ignoring unknown ssh_config option "frobnicatehosts"`,
		`nodes: ~/config:5: drove ignores ciphers (x/crypto/ssh defaults are used)`,
		`nodes: ~/config:7: ignoring Match block: drove cannot evaluate Match localnetwork`,
	}, rec.Lines())
}

// TestMatchExecTokensAndShortCircuit: exec runs with % tokens expanded, only
// when the criteria before it hold.
func TestMatchExecTokensAndShortCircuit(t *testing.T) {
	home := t.TempDir()
	log := filepath.Join(home, "exec.log")
	cfg := filepath.Join(home, "config")
	require.NoError(t, os.WriteFile(cfg, []byte(`Host web*
    HostName %h.example
Match originalhost web1 exec "echo %h %n %p %r >> `+log+`"
    Port 2201
Match originalhost nomatch exec "echo never >> `+log+`"
    Port 2202
Match !exec "false"
    User negated
`), 0o600))
	d, _ := newTestDialer(t, Options{ConfigFile: cfg, Home: home})
	tg := resolve(t, d, "alice@web1")
	assert.Equal(t, 2201, tg.Port)
	assert.Equal(t, "alice", tg.User, "the spec's user wins over Match's User")
	assert.Equal(t, "negated", resolve(t, d, "web2").User)
	data, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Equal(t, "web1.example web1 22 alice\n", string(data))
}

func TestIncludeFIFONotRead(t *testing.T) {
	home := t.TempDir()
	fifo := filepath.Join(home, "fifo.conf")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	cfg := filepath.Join(home, "config")
	require.NoError(t, writeFile(cfg, "Include "+home+"/*.conf\nUser after\n"))
	d, rec := newTestDialer(t, Options{ConfigFile: cfg, Home: home})
	done := make(chan *Target, 1)
	go func() { done <- resolve(t, d, "x") }()
	select {
	case tg := <-done:
		assert.Equal(t, "after", tg.User)
	case <-time.After(5 * time.Second):
		t.Fatal("resolving blocked on a FIFO")
	}
	assert.Equal(t, []string{"nodes: ignoring ssh_config ~/fifo.conf: not a regular file"}, rec.Lines())
}
