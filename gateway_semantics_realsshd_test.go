//go:build slow && unix

package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drove-dev/drove/hostlist"
	"github.com/drove-dev/drove/internal/testkit"
	"github.com/drove-dev/drove/internal/tmuxtest"
	"github.com/stretchr/testify/require"
)

// startGatewayBed starts the bed of the semantics tests: 6 nodes, of
// which node1 and node2 are the gateways and node3..node6 reachable only
// through them, or directly in the flat runs. A connect timeout of a
// minute: on a loaded machine a handshake can take over the default 10 s
// (setup, not what is tested).
func startGatewayBed(t *testing.T) *gatewayBed {
	t.Helper()
	return newGatewayBed(t, gatewayBedOptions{nodes: 6, gateways: 2, flags: []string{"--connect-timeout", "60s"}})
}

// gatewayOf is the gateway (0 for node1, 1 for node2) through which
// gatewayPool first reaches node (its rendezvous order).
func gatewayOf(node string) int {
	p := &gatewayPool{}
	for _, g := range []string{"node1", "node2"} {
		p.gws = append(p.gws, &gatewayConn{spec: hostlist.Spec{Host: g}, weight: routeHash(g)})
	}
	if p.order(node)[0].spec.Host == "node1" {
		return 0
	}
	return 1
}

// twoSides returns a node behind each gateway, from node3..node6.
func twoSides(t *testing.T) (a, b string) {
	for i := 3; i <= 6; i++ {
		n := fmt.Sprintf("node%d", i)
		if gatewayOf(n) == 0 && a == "" {
			a = n
		}
		if gatewayOf(n) == 1 && b == "" {
			b = n
		}
	}
	require.True(t, a != "" && b != "", "node3..node6 all hash to one gateway")
	return a, b
}

// TestRealSSHGatewaySemantics: every run flag means through gateways what
// it means flat, on real sshd (one bed shared by the subtests): eviction
// across gateways and --max-attempts, --timeout, the first and second
// Ctrl-C (nothing left on any node or gateway), --joblog and --resume,
// --events, --gather and --status on a real terminal. Where a flat run
// says the same, the two are compared.
func TestRealSSHGatewaySemantics(t *testing.T) {
	b := startGatewayBed(t)

	t.Run("eviction across gateways", func(t *testing.T) {
		bad, good := twoSides(t)
		badAddr := b.c.Nodes[nodeIndex(bad)].Host
		// Each job fails on the bad node alone (it knows it by the address
		// its session reached), so that node is evicted and its job requeued
		// on the node behind the other gateway; there, jobs wait until the
		// bad node has failed one (for at most a minute), so it gets one.
		failed := filepath.Join(b.dir, "failed")
		var js []string
		for i := range 8 {
			js = append(js, "-j", fmt.Sprintf(`case "$SSH_CONNECTION" in *" %s "*) touch %s; exit 7;; esac; i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo job %d`,
				badAddr, failed, failed, i))
		}
		runs := map[bool]result{}
		for _, through := range []bool{false, true} {
			_ = os.Remove(failed)
			r := drove(t, nil, nil, b.args(through, append([]string{"-n", bad, "-n", good}, js...)...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			for i := range 8 {
				require.Contains(t, r.stdout, fmt.Sprintf("job %d\n", i))
			}
			require.Regexp(t, `drove: evicted node `+bad+`: .*exited with status 7; requeued`, r.stderr)
			runs[through] = r
		}
		require.Equal(t, eventLines(runs[false].stderr), eventLines(runs[true].stderr))
		b.noneLeft(t, "")
	})

	t.Run("node killed or cut", func(t *testing.T) {
		// A node behind one gateway dies (its sshd and sessions killed) or
		// hangs (stopped) mid-job: it is evicted and its job requeued on
		// the node behind the other gateway, as flat.
		lost, good := twoSides(t)
		n := b.c.Nodes[nodeIndex(lost)]
		for _, how := range []string{"killed", "frozen"} {
			runs := map[bool]result{}
			for _, through := range []bool{false, true} {
				started := filepath.Join(b.dir, "started-"+how)
				var js []string
				for i := range 4 {
					// On the lost node the job lasts until the node goes;
					// on the other, jobs wait (a minute at most) until the
					// lost node has one, so it gets one.
					js = append(js, "-j", fmt.Sprintf(`case "$SSH_CONNECTION" in *" %s "*) touch %s; sleep 60;; esac; i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo job %d`,
						n.Host, started, started, i))
				}
				done := make(chan result, 1)
				go func() {
					done <- drove(t, nil, nil, b.args(through, append([]string{"-n", lost, "-n", good, "--keepalive", "1s"}, js...)...)...)
				}()
				testkit.WaitFor(t, 60*time.Second, "a job on "+lost, func() bool { _, err := os.Stat(started); return err == nil })
				if how == "killed" {
					n.Kill(t)
				} else {
					n.Freeze(t)
				}
				r := <-done
				if how == "killed" {
					n.Restart(t)
				} else {
					n.Thaw(t)
				}
				require.NoError(t, os.Remove(started))
				require.Equal(t, exitOK, r.code, r.stderr)
				require.Regexp(t, `drove: (evicted node|node) `+lost+`\b.*requeued`, r.stderr)
				for i := range 4 {
					require.Contains(t, r.stdout, fmt.Sprintf("job %d\n", i))
				}
				runs[through] = r
			}
			// The same lines but for how the loss reads: flat, a killed
			// node's session may end before its connection does.
			reason := regexp.MustCompile(`" [^"]*; requeued`)
			require.Equal(t, reason.ReplaceAllString(strings.Join(eventLines(runs[false].stderr), "\n"), `" ...; requeued`),
				reason.ReplaceAllString(strings.Join(eventLines(runs[true].stderr), "\n"), `" ...; requeued`), how)
		}
		b.noneLeft(t, "")
	})

	t.Run("max-attempts", func(t *testing.T) {
		// A job that fails everywhere fails after 2 nodes and they come
		// back; the good jobs all run.
		js := []string{"-j", "exit 5"}
		for i := range 6 {
			js = append(js, "-j", fmt.Sprintf("echo good %d", i))
		}
		runs := map[bool]result{}
		for _, through := range []bool{false, true} {
			r := drove(t, nil, nil, b.args(through, append([]string{"-n", "node[3-6]", "--max-attempts", "2"}, js...)...)...)
			require.Equal(t, exitFailed, r.code, r.stderr)
			require.Equal(t, 2, strings.Count(r.stderr, "drove: evicted node"), r.stderr)
			require.Contains(t, r.stderr, "exited with status 5")
			for i := range 6 {
				require.Contains(t, r.stdout, fmt.Sprintf("good %d\n", i))
			}
			runs[through] = r
		}
		require.Equal(t, eventLines(runs[false].stderr), eventLines(runs[true].stderr))
		b.noneLeft(t, "")
	})

	t.Run("timeout", func(t *testing.T) {
		m := marker(t)
		r := drove(t, nil, nil, b.args(true, "-n", "node3", "--timeout", "1s", "--grace", "1s",
			"-j", fmt.Sprintf("sh -c 'sleep 30; : %s' & sleep 30; : %s", m, m))...)
		require.Equal(t, exitFailed, r.code, r.stderr)
		require.Contains(t, r.stderr, "timed out after 1s")
		b.noneLeft(t, m)
	})

	t.Run("interrupts", func(t *testing.T) {
		// The first SIGINT: the running job finishes, nothing new starts.
		started := filepath.Join(b.dir, "started")
		p := droveProcess(t, b.args(true, "-n", "node3", "-j", "touch "+started+"; sleep 1; echo first", "-j", "echo second")...)
		testkit.WaitFor(t, 60*time.Second, "the first job to start", func() bool { _, err := os.Stat(started); return err == nil })
		require.NoError(t, p.Process.Signal(syscall.SIGINT))
		code, stdout, stderr := waitProcess(t, p)
		require.Equal(t, exitInterrupted, code, stderr)
		require.Equal(t, "first\n", stdout)
		require.Contains(t, stderr, "never ran: echo second")
		b.noneLeft(t, "")

		// The second SIGINT kills the running jobs (one ignores TERM) on
		// both gateways' nodes: nothing is left on a node or a gateway.
		m := marker(t)
		a, z := twoSides(t)
		p = droveProcess(t, b.args(true, "-n", a, "-n", z, "--grace", "1s",
			"-j", fmt.Sprintf("trap '' TERM; sleep 30; : %s", m), "-j", fmt.Sprintf("sleep 30; : %s", m),
			"-j", fmt.Sprintf("sleep 30; : %s", m), "-j", "echo never")...)
		testkit.WaitFor(t, 60*time.Second, "3 jobs running", func() bool { return len(b.c.Procs(t, m)) >= 3 })
		require.NoError(t, p.Process.Signal(syscall.SIGINT))
		require.NoError(t, p.Process.Signal(syscall.SIGINT))
		code, _, stderr = waitProcess(t, p)
		require.Equal(t, exitInterrupted, code, stderr)
		b.noneLeft(t, m)
	})

	t.Run("joblog and resume", func(t *testing.T) {
		flag := filepath.Join(b.dir, "flag")
		js := []string{"-j", "echo a", "-j", "echo b; exit 3", "-j", "test -e " + flag + " && echo c", "-j", "printf 'd%.0s' 1 2 3"}
		logs := map[bool]string{}
		for _, through := range []bool{false, true} {
			log := filepath.Join(t.TempDir(), "joblog")
			r := drove(t, nil, nil, b.args(through, append([]string{"-n", "node3", "--on-failure", "keep", "--joblog", log}, js...)...)...)
			require.Equal(t, exitFailed, r.code, r.stderr)
			logs[through] = log
		}
		require.Equal(t, jobLogRows(t, logs[false]), jobLogRows(t, logs[true]), "the same rows but for times")

		// Resumed (--resume-failed reruns what failed; --resume skips
		// every job the log holds): only what did not succeed runs again.
		require.NoError(t, os.WriteFile(flag, nil, 0o666))
		outs := map[bool]string{}
		for _, through := range []bool{false, true} {
			r := drove(t, nil, nil, b.args(through, append([]string{"-n", "node3", "--on-failure", "keep", "--joblog", logs[through], "--resume-failed"}, js...)...)...)
			require.Equal(t, exitFailed, r.code, r.stderr) // b still fails
			require.Equal(t, "b\nc\n", sortedLines(r.stdout))
			outs[through] = r.stdout
			r = drove(t, nil, nil, b.args(through, append([]string{"-n", "node3", "--joblog", logs[through], "--resume"}, js...)...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			require.Contains(t, r.stderr, "nothing left to run")
		}
		require.Equal(t, jobLogRows(t, logs[false]), jobLogRows(t, logs[true]), "the same rows but for times, after resuming")
		b.noneLeft(t, "")
	})

	t.Run("results and -S", func(t *testing.T) {
		// --results keeps each job's bytes exactly (here with --gather, so
		// through the gateways stdout crosses as blocks by hash), and -S
		// exits with the largest status, as flat.
		random := filepath.Join(b.dir, "random")
		rnd := make([]byte, 200000)
		_, _ = rand.Read(rnd)
		require.NoError(t, os.WriteFile(random, rnd, 0o644))
		js := []string{"-j", "echo out; echo err >&2", "-j", "printf 'no newline'", "-j", "exit 3", "-j", "exit 9",
			"-j", "cat " + random, "-j", "cat " + random + "; echo tail"}
		dirs := map[bool]map[string]string{}
		for _, through := range []bool{false, true} {
			dir := filepath.Join(t.TempDir(), "results")
			r := drove(t, nil, nil, b.args(through, append([]string{"-n", "node3", "--on-failure", "keep", "-S", "-b", "--results", dir}, js...)...)...)
			require.Equal(t, 9, r.code, r.stderr)
			dirs[through] = resultFiles(t, dir)
		}
		keys := slices.Sorted(maps.Keys(dirs[false]))
		require.Len(t, keys, 6*3, "%q", keys)
		i := slices.IndexFunc(keys, func(k string) bool { return strings.HasPrefix(k, "000005") && strings.HasSuffix(k, "/stdout") })
		require.True(t, i >= 0 && dirs[false][keys[i]] == string(rnd), "job 5's stdout in %q", keys)
		require.Equal(t, keys, slices.Sorted(maps.Keys(dirs[true])))
		for _, k := range keys {
			require.True(t, dirs[false][k] == dirs[true][k], "%s differs: %.200q through vs %.200q flat", k, dirs[true][k], dirs[false][k])
		}
		b.noneLeft(t, "")
	})

	t.Run("events", func(t *testing.T) {
		// Nodes named three ways: the events name them as the user did.
		nodes := []string{"-n", "node3", "-n", "2/node4", "-n", b.c.User + "@node5"}
		// On each node (-E), so that each job's node is the same flat and
		// through the gateways; node4 fails.
		js := []string{"-E", fmt.Sprintf(`case "$SSH_CONNECTION" in *" %s "*) exit 4;; esac; echo one`, b.c.Nodes[3].Host)}
		evs := map[bool][]string{}
		for _, through := range []bool{false, true} {
			ev := filepath.Join(t.TempDir(), "events")
			r := drove(t, nil, nil, b.args(through, append(append(nodes, "--events", ev), js...)...)...)
			require.Equal(t, exitFailed, r.code, r.stderr)
			evs[through] = eventSummary(t, ev)
		}
		require.Contains(t, strings.Join(evs[true], "\n"), `"node":"`+b.c.User+`@node5"`)
		require.Equal(t, evs[false], evs[true])
		b.noneLeft(t, "")
	})

	t.Run("gather", func(t *testing.T) {
		// The same output from most nodes, one line or 200 KiB (several
		// blocks), and a different one from node4.
		for _, cmd := range []string{
			`case "$SSH_CONNECTION" in *" %s "*) echo other;; *) echo same;; esac`,
			`case "$SSH_CONNECTION" in *" %s "*) echo other;; esac; head -c 204800 /dev/zero | tr '\0' x; echo`,
		} {
			cmd = fmt.Sprintf(cmd, b.c.Nodes[3].Host)
			outs := map[bool]string{}
			for _, through := range []bool{false, true} {
				r := drove(t, nil, nil, b.args(through, "-n", "node[3-6]", "-b", "-E", cmd)...)
				require.Equal(t, exitOK, r.code, r.stderr)
				outs[through] = r.stdout
			}
			require.Contains(t, outs[false], "node[3,5-6] (3)")
			require.Equal(t, outs[false], outs[true])
		}
		b.noneLeft(t, "")
	})

	t.Run("gather crosses once per gateway", func(t *testing.T) {
		// What this process reads (its sockets to the gateways, mostly),
		// for 24 jobs printing the same 1 MiB, beyond a run whose jobs
		// print a line: with --gather about one copy per gateway, without
		// it every copy.
		if _, err := os.Stat("/proc/self/io"); err != nil {
			t.Skip("no /proc/self/io to count the bytes read")
		}
		const jobs, size = 24, 1 << 20
		read := func(gather bool, cmd string) int64 {
			var js []string
			for range jobs {
				js = append(js, "-j", cmd)
			}
			args := append([]string{"-n", "node[3-6]"}, js...)
			if gather {
				args = append(args, "-b")
			}
			before := procRead(t)
			r := drove(t, nil, nil, b.args(true, args...)...)
			require.Equal(t, exitOK, r.code, r.stderr)
			return procRead(t) - before
		}
		big := fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x", size)
		// drove is sent to the gateways (read here) when not yet there.
		r := drove(t, nil, nil, b.args(true, "-n", "node[3-6]", "--connect-timeout", "2m", "-E", "true")...)
		require.Equal(t, exitOK, r.code, r.stderr)
		base := read(true, "echo x")
		gathered, streamed := read(true, big)-base, read(false, big)-base
		t.Logf("bytes read beyond the base run: %d with --gather, %d without", gathered, streamed)
		require.Greater(t, streamed, int64(jobs*size))
		require.Less(t, gathered, int64(4*size), "with --gather, each gateway should send the output once")
		b.noneLeft(t, "")
	})

	t.Run("status on a terminal", func(t *testing.T) {
		gate := filepath.Join(b.dir, "go")
		var js []string
		for i := range 4 {
			js = append(js, fmt.Sprintf("echo job %d; while [ ! -e %s ]; do sleep 0.05; done", i, gate))
		}
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "jobs.txt"), []byte(strings.Join(js, "\n")+"\n"), 0o644))
		a, z := twoSides(t)
		tm := droveInTerm(t, 100, 24, dir, b.args(true, "-n", "2/"+a, "-n", "2/"+z, "--status", "-J", "jobs.txt")...)
		isStatus := func(r string) bool { return strings.Contains(r, "jobs complete") }
		isOutput := regexp.MustCompile(`^job \d$`).MatchString
		s := tm.WaitFor("4 jobs running", func(s tmuxtest.Screen) bool {
			return countRows(s, `^job \d$`) == 4 && countRows(s, `4 of 4 nodes running`) == 1
		})
		st := tmuxtest.CheckStatus(t, s, isStatus, isOutput)
		require.Contains(t, st, "0 of 4 jobs complete, 4 of 4 nodes running jobs.")
		require.NoError(t, os.WriteFile(gate, nil, 0o666))
		tm.WaitFor("the end", func(s tmuxtest.Screen) bool { return countRows(s, `^EXIT 0$`) == 1 })
		got := map[string]int{}
		for _, l := range tm.History() {
			if l != "" {
				got[l]++
			}
		}
		want := map[string]int{"4 of 4 jobs complete, 0 of 4 nodes running jobs.": 1, "EXIT 0": 1}
		for i := range 4 {
			want[fmt.Sprintf("job %d", i)] = 1
		}
		require.Equal(t, want, got)
		b.noneLeft(t, "")
	})
}

// nodeIndex is the index in Cluster.Nodes of "nodeN".
func nodeIndex(node string) int {
	var i int
	_, _ = fmt.Sscanf(node, "node%d", &i)
	return i - 1
}

// waitProcess waits for a drove started by droveProcess, within a bound.
func waitProcess(t *testing.T, p *exec.Cmd) (int, string, string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		t.Fatalf("drove did not exit within 120 s")
	}
	return p.ProcessState.ExitCode(), p.Stdout.(*strings.Builder).String(), p.Stderr.(*strings.Builder).String()
}

// eventLines is drove's stderr without what depends on which node ran
// which job (node names, job numbers), sorted: a run through gateways
// must say the same lines as the run flat.
func eventLines(stderr string) []string {
	re := regexp.MustCompile(`(node|job |good |#)\d+`)
	// Whether a node was still connecting when the work ran out is the
	// load's, flat or through gateways (a loaded run had one).
	connecting := regexp.MustCompile(`; \d+ node\(s\) still connecting when the work ran out`)
	stderr = connecting.ReplaceAllString(stderr, "")
	out := strings.Split(re.ReplaceAllString(strings.TrimSpace(stderr), "${1}N"), "\n")
	slices.Sort(out)
	return out
}

// jobLogRows is a job log's rows without the start time and run time.
func jobLogRows(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var rows []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		f := strings.Split(l, "\t")
		require.Len(t, f, 9, "a joblog row: %q", l)
		f[2], f[3] = "", ""
		rows = append(rows, strings.Join(f, "\t"))
	}
	return rows
}

// resultFiles is a --results directory's files by path: stdout and
// stderr as they are, meta.json without times.
func resultFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Name() == "meta.json" {
			b = regexp.MustCompile(`"(start|duration_s)":[^,}]*`).ReplaceAll(b, nil)
		}
		files[rel] = string(b)
		return nil
	}))
	return files
}

// procRead is the bytes this process has read (rchar of /proc/self/io).
func procRead(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	require.NoError(t, err)
	var n int64
	_, err = fmt.Sscanf(string(b), "rchar: %d", &n)
	require.NoError(t, err)
	return n
}

// eventSummary is an events file's lines without their times, sorted.
func eventSummary(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), "%s", sc.Text())
		for _, k := range []string{"time", "duration_s"} {
			delete(ev, k)
		}
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	require.NoError(t, sc.Err())
	slices.Sort(out)
	return out
}

func sortedLines(s string) string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(l)
	return strings.Join(l, "\n") + "\n"
}
