//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/internal/sshdtest"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/jobs"
	"github.com/drove-dev/drove/records"
	"github.com/stretchr/testify/require"
)

// TestMain lets a test run this binary as drove itself (DROVE_AS_MAIN=1),
// so a test can kill a real drove process with SIGKILL. That drove reads
// no /etc/drove/config and no ~/.config/drove/config: only the file
// $DROVE_CONFIG names, if the test sets it; and no ClusterShell group
// files but those of $CLUSTERSHELL_CFGDIR.
func TestMain(m *testing.M) {
	if os.Getenv("DROVE_AS_MAIN") == "1" {
		var cfg configPaths
		if f := os.Getenv("DROVE_CONFIG"); f != "" {
			cfg = configPaths{User: f, Explicit: true}
		}
		e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, config: cfg, home: os.Getenv("HOME"), noColor: os.Getenv("NO_COLOR") != ""}
		if d := os.Getenv("CLUSTERSHELL_CFGDIR"); d != "" {
			e.groups = hostlist.GroupFiles{Confs: []string{filepath.Join(d, "groups.conf")}, Dirs: []string{filepath.Join(d, "groups.d")}}
		}
		os.Exit(run(os.Args[1:], e))
	}
	os.Exit(m.Run())
}

// droveProcess starts drove as a separate process.
func droveProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), "DROVE_AS_MAIN=1")
	c.Stdout, c.Stderr = new(strings.Builder), new(strings.Builder)
	require.NoError(t, c.Start())
	t.Cleanup(func() { _ = c.Process.Kill() })
	return c
}

// logged returns the commands a joblog records as exiting 0.
func logged(t *testing.T, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out // not created yet
	}
	for i, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, "\t")
		if i == 0 || len(f) != 9 {
			continue
		}
		if f[6] == "0" {
			out[f[8]] = true
		}
	}
	return out
}

// TestJobLogResumeAfterKill kills a drove process with SIGKILL mid-run,
// then resumes from its joblog: every job completes, jobs the log recorded
// run once only, and no job of the killed drove keeps running.
func TestJobLogResumeAfterKill(t *testing.T) {
	killAndResume(t, "-n", "2/:")
}

// killAndResume runs 40 jobs on nodeArgs in a drove process with --joblog,
// kills it with SIGKILL once 8 jobs are logged, checks that its running
// jobs died with it, resumes in-process with --resume, and checks that
// every job completed and that none the log recorded ran again.
func killAndResume(t *testing.T, nodeArgs ...string) {
	t.Helper()
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	joblog := filepath.Join(dir, "joblog")
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("sleep 0.05; echo %d >> %s", i, done))
	}
	jobsFile := writeFile(t, "jobs.txt", strings.Join(lines, "\n")+"\n")
	args := append(append([]string(nil), nodeArgs...), "-J", jobsFile, "--joblog", joblog)

	p := droveProcess(t, args...)
	require.Eventually(t, func() bool { return len(logged(t, joblog)) >= 8 }, 120*time.Second, 5*time.Millisecond) // a bound, not a timing: a loaded machine may take long
	require.NoError(t, p.Process.Signal(syscall.SIGKILL))
	_ = p.Wait()
	first := logged(t, joblog)
	require.Less(t, len(first), 40, "the kill came too late to test anything")
	// The killed drove's running jobs die with it (their stdin closes).
	require.Eventually(t, func() bool { return !procWithArg(done) }, 10*time.Second, 20*time.Millisecond,
		"jobs of the killed drove kept running")

	r := drove(t, nil, nil, append(args, "--resume")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	b, err := os.ReadFile(done)
	require.NoError(t, err)
	count := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		count[l]++
	}
	require.Len(t, count, 40, "every job completed")
	for i, l := range lines {
		if first[l] {
			require.Equal(t, 1, count[fmt.Sprint(i)], "job %d was logged before the kill and ran again", i)
		}
	}
	require.Len(t, logged(t, joblog), 40)
}

// procWithArg reports whether a live process has s in its command line.
func procWithArg(s string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), s) {
			continue
		}
		st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if !strings.Contains(string(st), ") Z ") {
			return true
		}
	}
	return false
}

// TestResumeMatchesByCommandNotLine: a reordered job list resumes the jobs
// that did not succeed; --resume-failed also reruns the failed one.
func TestResumeMatchesByCommandNotLine(t *testing.T) {
	dir := t.TempDir()
	joblog := filepath.Join(dir, "joblog")
	r := drove(t, nil, nil, "-n", ":", "--on-failure", "keep", "--joblog", joblog, "-j", "echo a", "-j", "exit 5", "-j", "echo b")
	require.Equal(t, exitFailed, r.code)

	// Reordered, with a new job: only the new one runs under --resume.
	r = drove(t, nil, nil, "-n", ":", "--joblog", joblog, "--resume", "-j", "echo b", "-j", "echo c", "-j", "exit 5", "-j", "echo a")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "c\n", r.stdout)

	r = drove(t, nil, nil, "-n", ":", "--on-failure", "keep", "--joblog", joblog, "--resume-failed", "-j", "echo a", "-j", "exit 5")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "failed: exit 5")
	require.Empty(t, r.stdout)
}

func TestResultsDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	r := drove(t, nil, nil, "-n", ":", "--on-failure", "keep", "--results", dir, "-j", "echo out; echo err >&2", "-j", "exit 4")
	require.Equal(t, exitFailed, r.code)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 2)
	require.Equal(t, "000001-echo_out_echo_err_2", ents[0].Name())
	require.Equal(t, "000002-exit_4", ents[1].Name())
	out, _ := os.ReadFile(filepath.Join(dir, ents[0].Name(), "stdout"))
	errOut, _ := os.ReadFile(filepath.Join(dir, ents[0].Name(), "stderr"))
	require.Equal(t, "out\n", string(out))
	require.Equal(t, "err\n", string(errOut))
	var meta records.JobMeta
	b, err := os.ReadFile(filepath.Join(dir, ents[1].Name(), "meta.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &meta))
	require.Equal(t, "exit 4", meta.Command)
	require.Len(t, meta.Attempts, 1)
	require.Equal(t, "local", meta.Attempts[0].Node)
	require.Equal(t, 4, meta.Attempts[0].ExitStatus)
	// And the jobs' output still reaches drove's own streams.
	require.Equal(t, "out\n", r.stdout)
}

func TestEventsAndStatusFile(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	status := filepath.Join(dir, "status.json")
	r := drove(t, nil, nil, "-n", "2/:", "--on-failure", "keep", "--events", events, "--status-file", status,
		"-j", "echo hi", "-j", "exit 3", "-j", "kill -TERM $$")
	require.Equal(t, exitFailed, r.code)

	f, err := os.Open(events)
	require.NoError(t, err)
	defer f.Close()
	kinds := map[string]int{}
	var finished []records.EventLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var je records.EventLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &je), sc.Text())
		kinds[je.Event]++
		if je.Event == "job_finished" {
			finished = append(finished, je)
		}
	}
	require.Equal(t, 1, kinds["node_up"])
	require.Equal(t, 3, kinds["job_started"])
	require.Len(t, finished, 3)
	byCmd := map[string]records.EventLine{}
	for _, je := range finished {
		byCmd[je.Command] = je
		require.Equal(t, "local", je.Node)
		require.NotNil(t, je.DurationS)
	}
	require.True(t, *byCmd["echo hi"].OK)
	require.EqualValues(t, 3, *byCmd["echo hi"].StdoutBytes)
	require.Equal(t, 3, *byCmd["exit 3"].ExitStatus)
	require.Equal(t, "TERM", byCmd["kill -TERM $$"].Signal)

	var snap records.StatusSnapshot
	b, err := os.ReadFile(status)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &snap))
	require.Equal(t, records.JobCounts{Total: 3, TotalKnown: true, Succeeded: 1, Failed: 2}, snap.Jobs)
	require.Equal(t, map[string]string{"local": "up"}, snap.Nodes)
	require.Empty(t, snap.Running)
}

func TestDryRunConnectsNothing(t *testing.T) {
	cfg := writeFile(t, "ssh_config", "Host web1\n  HostName 192.0.2.10\n  User alice\n  Port 2222\n  ProxyJump bob@bastion:2200\n  IdentityFile /keys/id_web\n")
	r := drove(t, nil, nil, "-F", cfg, "-n", "4/web1", "-n", ":", "--dry-run", "-j", "echo a", "-j", "echo b")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "web1\tuser=alice\taddress=192.0.2.10\tport=2222\tslots=4\tjump=bob@bastion:2200\tidentities=/keys/id_web")
	require.Contains(t, r.stdout, "local\tslots=1")
	require.Contains(t, r.stdout, "# jobs\necho a\necho b\n")
}

// TestNodeFileChangesJoinAndLeave: editing the node file mid-run adds a
// node, which joins and takes jobs, and removes one, which finishes its job
// and takes no more. Real sshd nodes, since the local node is one node.
func TestNodeFileChangesJoinAndLeave(t *testing.T) {
	testkit.Slow(t)
	c := sshdtest.Start(t, sshdtest.Options{Nodes: 2})
	dir := t.TempDir()
	nodesFile := filepath.Join(dir, "nodes.txt")
	require.NoError(t, os.WriteFile(nodesFile, []byte("node1\n"), 0o644))
	events := filepath.Join(dir, "events")
	gate := filepath.Join(c.Nodes[0].Scratch, "go")
	// Every job waits for the gate, so node1's first job is still running
	// when the file changes; the rest must then run on node2.
	var js []string
	for i := range 6 {
		js = append(js, "-j", fmt.Sprintf("i=0; while [ ! -e %s ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo job %d on $SSH_CONNECTION", gate, i))
	}
	res := make(chan result, 1)
	go func() {
		res <- drove(t, nil, nil, append([]string{"-F", c.SSHConfig, "-N", nodesFile, "--events", events}, js...)...)
	}()
	waitEvent := func(name, node string) {
		t.Helper()
		require.Eventually(t, func() bool {
			b, _ := os.ReadFile(events)
			return strings.Contains(string(b), `"event":"`+name+`","node":"`+node+`"`)
		}, 20*time.Second, 10*time.Millisecond, "no %s event for %s", name, node)
	}
	waitEvent("job_started", "node1")
	require.NoError(t, os.WriteFile(nodesFile, []byte("# node1 is leaving\nnode2\n"), 0o644))
	waitEvent("node_joined", "node2")
	waitEvent("node_leaving", "node1")
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	r := <-res
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, 1, strings.Count(r.stdout, c.Nodes[0].Host), r.stdout)
	require.Equal(t, 5, strings.Count(r.stdout, c.Nodes[1].Host), r.stdout)
	require.Contains(t, r.stderr, "node node2 joined the pool")
	require.Contains(t, r.stderr, "node node1 is no longer listed")
}

// Resuming a run that finished is not bad input: nothing is left, so it
// says so and exits 0 (it exited 2, "no jobs", before).
func TestResumeOfAFinishedRunExits0(t *testing.T) {
	joblog := filepath.Join(t.TempDir(), "joblog")
	args := []string{"-n", ":", "--joblog", joblog, "-j", "echo a", "-j", "echo b"}
	r := drove(t, nil, nil, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = drove(t, nil, nil, append(args, "--resume")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Empty(t, r.stdout)
	require.Contains(t, r.stderr, "nothing left to run")
	// An empty job list is still bad input, resume or not.
	empty := writeFile(t, "empty", "")
	r = drove(t, nil, nil, "-n", ":", "--joblog", joblog, "--resume", "-J", empty)
	require.Equal(t, exitUsage, r.code, r.stderr)
}

// Local jobs are logged with ":" as their host, as GNU parallel logs them,
// so each tool can resume from the other's log.
func TestJobLogLocalHostIsColon(t *testing.T) {
	joblog := filepath.Join(t.TempDir(), "joblog")
	r := drove(t, nil, nil, "-n", ":", "--joblog", joblog, "-j", "echo a")
	require.Equal(t, exitOK, r.code, r.stderr)
	b, err := os.ReadFile(joblog)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 2)
	require.Equal(t, []string{"1", ":"}, strings.Split(lines[1], "\t")[:2])
	if _, err := exec.LookPath("parallel"); err != nil {
		t.Skip("GNU parallel not installed")
	}
	// GNU parallel resumes from drove's log: "echo a" is done, "echo b" runs.
	cmd := exec.Command("parallel", "--will-cite", "--resume", "--joblog", joblog)
	cmd.Stdin = strings.NewReader("echo a\necho b\n")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	require.NoError(t, err)
	require.Equal(t, "b\n", string(out))
}

// Issue 11, defect 4: a job that failed for good under the default
// --on-failure evict (requeued, then no node left) is in the job log, so
// --resume does not run it again and --resume-failed does.
func TestJobLogRecordsJobsAbandonedAfterEviction(t *testing.T) {
	dir := t.TempDir()
	joblog := filepath.Join(dir, "joblog")
	events := filepath.Join(dir, "events")
	r := drove(t, nil, nil, "-n", ":", "--joblog", joblog, "--events", events, "-j", "exit 3")
	require.Equal(t, exitFailed, r.code, r.stderr)
	b, err := os.ReadFile(joblog)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 2, "header and the abandoned job: %q", b)
	f := strings.Split(lines[1], "\t")
	require.Equal(t, []string{"1", ":"}, f[:2])
	require.Equal(t, []string{"3", "0", "exit 3"}, f[6:])
	ev, err := os.ReadFile(events)
	require.NoError(t, err)
	require.Contains(t, string(ev), `"event":"job_failed","node":"local","seq":1,"command":"exit 3"`)

	r = drove(t, nil, nil, "-n", ":", "--joblog", joblog, "--resume", "-j", "exit 3")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = drove(t, nil, nil, "-n", ":", "--joblog", joblog, "--resume-failed", "-j", "exit 3")
	require.Equal(t, exitFailed, r.code, r.stderr)
}

// Issue 11, defect 6: a job line over the reader's limit does not end the
// stream silently: it is listed as never run, with its file and line, and
// the jobs after it run.
func TestOverlongJobLineNeverRunsAndReadingGoesOn(t *testing.T) {
	jobsFile := writeFile(t, "jobs.txt", "echo before\n"+strings.Repeat("x", jobs.MaxLineBytes+10)+"\necho after\n")
	r := drove(t, nil, nil, "-n", "1/:", "-J", jobsFile)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Equal(t, "before\nafter\n", r.stdout)
	require.Contains(t, r.stderr, "never ran")
	require.Contains(t, r.stderr, "drove: never ran: "+jobsFile+":2: a line longer than a job may be")
}
