//go:build unix

package sshdtest

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// startTimeout bounds how long a node's sshd may take to listen.
const startTimeout = 10 * time.Second

// signalTimeout bounds how long Kill waits for the node's processes to die.
const signalTimeout = 10 * time.Second

// Node is one sshd process of a Cluster.
type Node struct {
	Name string // "node1", also its Host alias in the Cluster's SSHConfig
	Addr string // "127.0.0.11:PORT"
	Host string // "127.0.0.11"
	Port int
	// HostKeyPub is the node's ed25519 host key in authorized-key form
	// ("ssh-ed25519 AAAA..."), without a trailing newline.
	HostKeyPub string
	HostKey    ssh.PublicKey   // the first of HostKeys
	HostKeys   []ssh.PublicKey // every host key the node serves (Options.HostKeys)
	Config     string          // the node's sshd_config
	LogFile    string          // the node's sshd log (sshd -E)
	// Scratch is a directory owned by the login user, for this node's
	// jobs to write into, and the node's TMPDIR (so drove's guards make
	// their directories there). All nodes share one filesystem, so
	// per-node directories let a test tell which node did what.
	Scratch string

	hostKeyFiles []string  // private halves of HostKeys
	extra        []string  // Options.NodeConfig's lines for this node
	hold         *portHold // keeps Port from the kernel's choice to cleanup
	sshd         string    // path of the sshd binary
	uid          int       // the login user's uid
	run          *sshdRun  // the latest run, nil before the first
}

// sshdRun is one run of a node's sshd. The waiting goroutine sets err and
// then closes done; err may be read only after done is closed.
type sshdRun struct {
	cmd    *exec.Cmd
	logOff int64 // the log's size when this run started
	done   chan struct{}
	err    error
}

// errAddrInUse reports that sshd could not bind its address.
var errAddrInUse = errors.New("sshdtest: address already in use")

// launch starts sshd in the foreground (-D) so that exec.Cmd owns it.
func (n *Node) launch() error {
	logf, err := os.OpenFile(n.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("sshdtest: %s log: %w", n.Name, err)
	}
	defer logf.Close()
	off, err := logf.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("sshdtest: %s log: %w", n.Name, err)
	}
	cmd := exec.Command(n.sshd, "-D", "-f", n.Config, "-E", n.LogFile)
	// Early failures (bad options) go to stderr before -E takes effect.
	cmd.Stdout = logf
	cmd.Stderr = logf
	// If the test binary dies without cleaning up, the listener goes too.
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("sshdtest: start %s sshd: %w", n.Name, err)
	}
	r := &sshdRun{cmd: cmd, logOff: off, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	n.run = r
	return nil
}

// waitUp waits until the node's sshd listens on its address. It returns
// errAddrInUse if sshd exited because its address was taken.
func (n *Node) waitUp() error {
	addr, err := netip.ParseAddrPort(n.Addr)
	if err != nil {
		return fmt.Errorf("sshdtest: %s: %w", n.Name, err)
	}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-n.run.done:
			log := n.Log()
			if int64(len(log)) >= n.run.logOff && strings.Contains(log[n.run.logOff:], "Address already in use") {
				return errAddrInUse
			}
			return fmt.Errorf("sshdtest: %s sshd exited during start (%v); log:\n%s", n.Name, n.run.err, log)
		default:
		}
		ok, err := listening(n.run.cmd.Process.Pid, addr)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sshdtest: %s did not listen on %s within %v; log:\n%s",
				n.Name, n.Addr, startTimeout, n.Log())
		}
		time.Sleep(pollInterval)
	}
}

// Log returns the node's sshd log so far.
func (n *Node) Log() string {
	data, err := os.ReadFile(n.LogFile)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", n.LogFile, err)
	}
	return string(data)
}

// Running reports whether the node's sshd listener is running (it may be
// frozen).
func (n *Node) Running() bool { return n.listenerPID() != 0 }

// listenerPID returns the pid of the running sshd listener, or 0.
func (n *Node) listenerPID() int {
	if n.run == nil {
		return 0
	}
	select {
	case <-n.run.done:
		return 0
	default:
		return n.run.cmd.Process.Pid
	}
}

// processes returns the pids of the nodes' processes: each listener, its
// descendants, and the login user's processes whose SSH_CONNECTION names one
// of the nodes (session processes that left the tree). One /proc scan serves
// every node.
func processes(nodes []*Node) (map[int]bool, error) {
	all, err := scanProcs(false)
	if err != nil {
		return nil, err
	}
	servers := map[string]bool{}
	uids := map[int]bool{}
	for _, n := range nodes {
		servers[n.Host+" "+strconv.Itoa(n.Port)] = true
		uids[n.uid] = true
	}
	set := map[int]bool{}
	children := map[int][]int{}
	for _, p := range all {
		if p.state == 'Z' {
			continue
		}
		children[p.PPID] = append(children[p.PPID], p.PID)
		if uids[p.UID] {
			if server, ok := sshConnectionServer(p.PID); ok && servers[server] {
				set[p.PID] = true
			}
		}
	}
	var stack []int
	for _, n := range nodes {
		if root := n.listenerPID(); root != 0 {
			stack = append(stack, root)
		}
	}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		set[pid] = true
		stack = append(stack, children[pid]...)
	}
	return set, nil
}

// stopAll sends SIGSTOP to the nodes' processes until a scan finds none that
// is not already stopped, so that nothing can fork behind its back. It
// returns the stopped pids.
func stopAll(nodes []*Node) (map[int]bool, error) {
	stopped := map[int]bool{}
	for {
		set, err := processes(nodes)
		if err != nil {
			return stopped, err
		}
		fresh := 0
		for pid := range set {
			if !stopped[pid] {
				stopped[pid] = true
				fresh++
				_ = syscall.Kill(pid, syscall.SIGSTOP) // it may be gone already
			}
		}
		if fresh == 0 {
			return stopped, nil
		}
	}
}

// Kill sends SIGKILL to the node's sshd listener and all its session
// processes, as if the machine had died, and waits until they are gone. New
// connections to the node are then refused. Killing a node that is not
// running kills any session processes it left behind.
func (n *Node) Kill(t TB) {
	t.Helper()
	if err := killAll([]*Node{n}); err != nil {
		t.Fatalf("%v", err)
	}
}

// killAll stops the nodes' processes, kills them and waits until they are
// gone (exited or zombies).
func killAll(nodes []*Node) error {
	stopped, err := stopAll(nodes)
	for pid := range stopped {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err != nil {
		return err
	}
	deadline := time.Now().Add(signalTimeout)
	for _, n := range nodes {
		if n.run == nil {
			continue
		}
		select {
		case <-n.run.done:
		case <-time.After(time.Until(deadline)):
			return fmt.Errorf("sshdtest: %s sshd did not exit within %v of SIGKILL", n.Name, signalTimeout)
		}
	}
	for pid := range stopped {
		for {
			p, ok := readProc(pid, true)
			if !ok || p.state == 'Z' {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("sshdtest: %v still alive %v after SIGKILL", p.Proc, signalTimeout)
			}
			time.Sleep(pollInterval)
		}
	}
	return nil
}

// Freeze sends SIGSTOP to the node's listener and all its session processes,
// as if the machine hung: the kernel still accepts TCP connections, but
// nothing answers. Thaw undoes it.
func (n *Node) Freeze(t TB) {
	t.Helper()
	if !n.Running() {
		t.Fatalf("sshdtest: Freeze %s: not running", n.Name)
	}
	if _, err := stopAll([]*Node{n}); err != nil {
		t.Fatalf("%v", err)
	}
}

// Thaw sends SIGCONT to the node's listener and all its session processes.
func (n *Node) Thaw(t TB) {
	t.Helper()
	if err := thawAll([]*Node{n}); err != nil {
		t.Fatalf("%v", err)
	}
}

// thawAll sends SIGCONT to the nodes' processes.
func thawAll(nodes []*Node) error {
	set, err := processes(nodes)
	for pid := range set {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	return err
}

// Restart starts the node's sshd again, on the same address, port and host
// key, after Kill. The port stayed held while the node was down, so only a
// process that named it explicitly can have taken it, and then Restart
// fails the test; it also fails the test if the node is running.
func (n *Node) Restart(t TB) {
	t.Helper()
	if n.Running() {
		t.Fatalf("sshdtest: Restart %s: still running (Kill it first)", n.Name)
	}
	if err := n.launch(); err != nil {
		t.Fatalf("%v", err)
	}
	if err := n.waitUp(); err != nil {
		if errors.Is(err, errAddrInUse) {
			t.Fatalf("sshdtest: Restart %s: %s was taken by another process", n.Name, n.Addr)
		}
		_ = killAll([]*Node{n})
		t.Fatalf("%v", err)
	}
}

// stopNodes is the cleanup: it thaws the nodes' processes and kills them.
func stopNodes(nodes []*Node) error {
	return errors.Join(thawAll(nodes), killAll(nodes))
}
