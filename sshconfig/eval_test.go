package sshconfig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvalUsesEnv: Match localuser, Match exec and % tokens see the Env
// passed in, not the process, and notes go to its sinks once.
func TestEvalUsesEnv(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	require.NoError(t, os.WriteFile(cfg, []byte(`Match localuser envuser exec "probe %u %d %l %i"
  User fromexec
Host *
  IdentityFile %d/key-%u
  Bogus 1
`), 0o600))
	c, err := Load(cfg, home)
	require.NoError(t, err)
	var ran []string
	var notes []string
	env := &Env{
		Home: home, LocalUser: "envuser", LocalHost: "box.example", UID: 4242,
		Exec: func(_ context.Context, command string) (bool, error) {
			ran = append(ran, command)
			return true, nil
		},
		NoteOnce: func(key, format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) },
	}
	v := c.Eval(env, "web1", "", 0)
	assert.Equal(t, "fromexec", v.Get("User"))
	assert.Equal(t, []string{home + "/key-envuser"}, func() []string {
		var out []string
		for _, f := range v.GetAll("IdentityFile") {
			e, err := ExpandTokens(f, map[byte]string{'d': env.Home, 'u': env.LocalUser})
			require.NoError(t, err)
			out = append(out, e)
		}
		return out
	}())
	assert.Equal(t, []string{fmt.Sprintf("probe envuser %s box.example 4242", home)}, ran)
	assert.Equal(t, []string{`nodes: ~/config:5: ignoring unknown ssh_config option "bogus"`}, notes)

	env.LocalUser = "other"
	ran = nil
	assert.Equal(t, "", c.Eval(env, "web1", "", 0).Get("User"), "Match localuser is the Env's")
	assert.Empty(t, ran, "exec is skipped once an earlier criterion failed")
}
