//go:build unix

package sshdtest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// recordTB records how a helper ended the test.
type recordTB struct {
	fatal, skip string
}

func (r *recordTB) Helper()             {}
func (r *recordTB) Logf(string, ...any) {}
func (r *recordTB) Cleanup(func())      {}
func (r *recordTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordTB) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// call runs fn on its own goroutine, since Fatalf and Skipf end it.
func (r *recordTB) call(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

func TestUnavailableSkipsOutsideCIAndFailsInCI(t *testing.T) {
	t.Setenv("CI", "")
	var local recordTB
	local.call(func() { unavailable(&local, "no sshd") })
	assert.Equal(t, "sshdtest: no sshd", local.skip)
	assert.Empty(t, local.fatal)

	t.Setenv("CI", "true")
	var ci recordTB
	ci.call(func() { unavailable(&ci, "no sshd") })
	assert.Empty(t, ci.skip)
	assert.Contains(t, ci.fatal, "no sshd")
	assert.Contains(t, ci.fatal, "CI is set")
}

func TestSSHDConfigOrdersExtraLinesAroundDefaults(t *testing.T) {
	c := &Cluster{Dir: "/d", User: LoginUser}
	n := &Node{Addr: "127.0.0.11:2222", Config: "/d/node1/sshd_config"}
	got := c.sshdConfig(n, Options{
		MaxSessions: 2,
		ExtraConfig: []string{"LogLevel DEBUG3", "Match User nobody", "    MaxSessions 1"},
	})
	logLevel3 := strings.Index(got, "LogLevel DEBUG3")
	assert.Less(t, logLevel3, strings.Index(got, "LogLevel DEBUG1"), "extra lines come first so they win:\n%s", got)
	assert.Less(t, strings.Index(got, "MaxSessions 2"), strings.Index(got, "Match User nobody"), "Match blocks go last:\n%s", got)
	assert.Contains(t, got, "ListenAddress 127.0.0.11:2222\n")
}
