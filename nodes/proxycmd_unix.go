//go:build unix

package nodes

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

//go:embed proxywatch.sh
var proxyWatchScript string

// proxyWatch is the process that leads a ProxyCommand's process group
// (proxywatch.sh): when drove closes the pipe only it holds, or dies
// without closing it (SIGKILL), the watchdog kills the whole group, the
// command's children included, so that none of them keeps the connection
// to the node (and the node's jobs) alive. A child that leaves the group
// (setsid) escapes it.
type proxyWatch struct {
	cmd  *exec.Cmd
	hold *os.File      // the pipe's write end; drove's alone (close-on-exec)
	done chan struct{} // closed when the watchdog has been reaped
}

// startProxyWatch starts a watchdog, the leader of a new process group.
// It is not a Pdeathsig child: it must outlive drove to do its work.
func startProxyWatch() (*proxyWatch, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("proxy watchdog: %w", err)
	}
	cmd := exec.Command("/bin/sh", "-c", proxyWatchScript)
	cmd.ExtraFiles = []*os.File{r}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("proxy watchdog: %w", err)
	}
	pw := &proxyWatch{cmd: cmd, hold: w, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(pw.done)
	}()
	return pw, nil
}

// group is the process group the ProxyCommand joins.
func (w *proxyWatch) group() int { return w.cmd.Process.Pid }

// hangUp sends SIGHUP to the command's process group, as ssh does; the
// watchdog ignores it.
func (w *proxyWatch) hangUp() { _ = syscall.Kill(-w.group(), syscall.SIGHUP) }

// kill kills what is left of the command's process group, the watchdog
// included.
func (w *proxyWatch) kill(*os.Process) { _ = syscall.Kill(-w.group(), syscall.SIGKILL) }

// stop closes drove's end of the pipe (the watchdog then kills what is
// left of the group and itself) and reaps the watchdog.
func (w *proxyWatch) stop() {
	w.hold.Close()
	<-w.done
}
