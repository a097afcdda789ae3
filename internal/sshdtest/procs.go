//go:build unix

package sshdtest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Proc is one live (non-zombie) process as /proc showed it.
type Proc struct {
	PID  int
	PPID int
	UID  int // real uid
	// Args is the command line, from /proc/PID/cmdline.
	Args []string
}

// Cmdline returns the command line with arguments joined by spaces.
func (p Proc) Cmdline() string { return strings.Join(p.Args, " ") }

// String describes the process for failure messages.
func (p Proc) String() string {
	return fmt.Sprintf("pid %d (ppid %d, uid %d): %s", p.PID, p.PPID, p.UID, p.Cmdline())
}

// procEntry is what a /proc scan records about one process.
type procEntry struct {
	Proc
	state byte
}

// scanProcs lists every process in /proc, zombies included, with their
// command lines if withArgs. Processes that vanish during the scan are left
// out.
func scanProcs(withArgs bool) ([]procEntry, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	var out []procEntry
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, ok := readProc(pid, withArgs)
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// readProc reads one process's stat, status and, if withArgs, cmdline; ok
// is false when the process is gone or unreadable.
func readProc(pid int, withArgs bool) (procEntry, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return procEntry{}, false
	}
	// "pid (comm) S ppid ...": comm may hold spaces and parentheses, so
	// parse from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procEntry{}, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 2 || len(fields[0]) != 1 {
		return procEntry{}, false
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return procEntry{}, false
	}
	uid, ok := readUID(dir + "/status")
	if !ok {
		return procEntry{}, false
	}
	var args []string
	if withArgs {
		cmd, err := os.ReadFile(dir + "/cmdline")
		if err != nil {
			return procEntry{}, false
		}
		if len(cmd) > 0 {
			args = strings.Split(strings.TrimSuffix(string(cmd), "\x00"), "\x00")
		}
	}
	return procEntry{Proc: Proc{PID: pid, PPID: ppid, UID: uid, Args: args}, state: fields[0][0]}, true
}

// readUID returns the real uid from a /proc/PID/status file.
func readUID(path string) (int, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			uid, err := strconv.Atoi(f[0])
			return uid, err == nil
		}
	}
	return 0, false
}

// sshConnectionServer returns the server address ("host port") of the
// SSH_CONNECTION in process pid's environment: the sshd whose session the
// process descends from, even if it has left that sshd's process tree.
func sshConnectionServer(pid int) (string, bool) {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return "", false
	}
	for _, kv := range bytes.Split(env, []byte{0}) {
		v, ok := bytes.CutPrefix(kv, []byte("SSH_CONNECTION="))
		if !ok {
			continue
		}
		if f := strings.Fields(string(v)); len(f) == 4 {
			return f[2] + " " + f[3], true
		}
	}
	return "", false
}

// Procs returns every live, non-zombie process owned by the login user whose
// command line contains marker. Tests put a unique marker in job commands
// and use it to prove that no job process was left on any node. Processes of
// other users are left out on purpose: the test binary, drove itself and
// local ssh clients carry the marker in their own arguments.
func (c *Cluster) Procs(t TB, marker string) []Proc {
	t.Helper()
	procs, err := c.procs(marker)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return procs
}

func (c *Cluster) procs(marker string) ([]Proc, error) {
	all, err := scanProcs(true)
	if err != nil {
		return nil, err
	}
	var out []Proc
	for _, p := range all {
		if p.state == 'Z' || p.UID != c.UID || !strings.Contains(p.Cmdline(), marker) {
			continue
		}
		out = append(out, p.Proc)
	}
	return out, nil
}

// WaitNoProcs waits until Procs(marker) is empty, polling for at most
// within, and fails the test listing the processes still alive.
func (c *Cluster) WaitNoProcs(t TB, marker string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		procs, err := c.procs(marker)
		if err != nil {
			t.Fatalf("%v", err)
		}
		if len(procs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			lines := make([]string, len(procs))
			for i, p := range procs {
				lines[i] = "\t" + p.String()
			}
			t.Fatalf("sshdtest: %d process(es) with marker %q still alive after %v:\n%s",
				len(procs), marker, within, strings.Join(lines, "\n"))
		}
		time.Sleep(pollInterval)
	}
}

// pollInterval is how often the harness re-checks a condition it waits for.
const pollInterval = 10 * time.Millisecond
