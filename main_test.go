package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/testkit"
	"github.com/stretchr/testify/require"
)

// result is one run of drove in-process.
type result struct {
	code           int
	stdout, stderr string
}

// drove runs the CLI with args; stdin may be nil, drain may be nil.
func drove(t *testing.T, stdin io.Reader, drain chan struct{}, args ...string) result {
	t.Helper()
	return droveCtx(context.Background(), stdin, drain, args...)
}

// droveCtx runs the CLI with a context the test can cancel (the second
// Ctrl-C) and a drain channel (the first).
func droveCtx(ctx context.Context, stdin io.Reader, drain chan struct{}, args ...string) result {
	var out, errOut testkit.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	if drain == nil {
		drain = make(chan struct{})
	}
	e := &env{stdin: stdin, stdout: &out, stderr: &errOut, drain: drain}
	code := runWith(ctx, e, args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestBadInputIsOneLineAndExit2(t *testing.T) {
	badNodes := writeFile(t, "nodes.txt", "# fleet\n2/:\nweb1:99999\n")
	empty := writeFile(t, "empty.txt", "\n\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "no nodes"},
		{"no jobs", []string{"-n", ":"}, "no jobs"},
		{"each and jobs", []string{"-n", ":", "-E", "x", "-j", "y"}, "--on-each-node cannot be used with --job"},
		{"missing node file", []string{"-N", "/nonexistent/nodes.txt", "-j", "true"}, "/nonexistent/nodes.txt: no such file"},
		{"missing job file", []string{"-n", ":", "-J", "/nonexistent/jobs.txt"}, "/nonexistent/jobs.txt: no such file"},
		{"job file is a dir", []string{"-n", ":", "-J", t.TempDir()}, "is a directory"},
		{"bad spec in file", []string{"-N", badNodes, "-j", "true"}, badNodes + ":3: bad node spec \"web1:99999\": port out of range"},
		{"bad spec", []string{"-n", "web1:0", "-j", "true"}, "port out of range"},
		{"bad slots", []string{"-n", "x/web1", "-j", "true"}, "bad node spec"},
		{"stdin twice", []string{"-N", "-", "-J", "-"}, "'-' (stdin) can be given only once"},
		{"empty job file", []string{"-n", ":", "-J", empty}, "no jobs"},
		{"bad on-failure", []string{"-n", ":", "-j", "true", "--on-failure", "maybe"}, "--on-failure"},
		{"negative attempts", []string{"-n", ":", "-j", "true", "--max-attempts=-1"}, "must not be negative"},
		{"negative handshakes", []string{"-n", ":", "-j", "true", "--max-handshakes=-1"}, "--max-handshakes must not be negative"},
		{"bad timeout", []string{"-n", ":", "-j", "true", "--timeout", "soon"}, "--timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := drove(t, nil, nil, c.args...)
			require.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			require.Contains(t, r.stderr, c.want)
			require.Equal(t, 1, strings.Count(r.stderr, "\n"), "want one line, got %q", r.stderr)
			require.NotContains(t, r.stderr, "goroutine")
			require.Empty(t, r.stdout)
		})
	}
}

func TestExitStatuses(t *testing.T) {
	r := drove(t, nil, nil, "-n", "2/:", "-j", "echo one", "-j", "echo two")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	sort.Strings(lines)
	require.Equal(t, []string{"one", "two"}, lines)
	require.Empty(t, r.stderr)

	r = drove(t, nil, nil, "-n", ":", "-j", "exit 3", "--on-failure", "keep")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "drove: failed: exit 3 (--job #1): exited with status 3 on local")
	require.Contains(t, r.stderr, "0 of 1 jobs succeeded, 1 failed")
}

// TestEvictedLocalNodeLeavesJobsUnrun: clstr's model on the one local node
// (--max-attempts 0): the failure evicts it, and the jobs left are listed
// as never run. With attempts bounded (the default), the job that failed
// on every node left to it is at fault: the node comes back and the other
// job runs (issue 21.1).
func TestEvictedLocalNodeLeavesJobsUnrun(t *testing.T) {
	r := drove(t, nil, nil, "-n", ":", "-m", "1", "--max-attempts", "0", "-j", "exit 4", "-j", "echo never")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, `drove: evicted node local: job "exit 4" exited with status 4; requeued`)
	require.Contains(t, r.stderr, "drove: never ran: echo never (--job #2)")
	require.Empty(t, r.stdout)

	r = drove(t, nil, nil, "-n", ":", "-m", "1", "-j", "exit 4", "-j", "echo ran")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "drove: node local readmitted: job 'exit 4' failed on every node left to it (1 node), the job is at fault\n")
	require.Equal(t, "ran\n", r.stdout)
	require.Contains(t, r.stderr, "drove: 1 of 2 jobs succeeded, 1 failed\n")
}

func TestStatusPlainLines(t *testing.T) {
	jobs := writeFile(t, "jobs.txt", "true\ntrue\n\ntrue\n")
	r := drove(t, nil, nil, "-n", "2/:", "-J", jobs, "--status")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	require.Equal(t, "3 of 3 jobs complete, 0 of 2 nodes running jobs.", lines[len(lines)-1])
	require.NotContains(t, r.stderr, "\r", "no terminal redraws when stderr is not a terminal")
}

func TestTagAndOutputFiles(t *testing.T) {
	dir := t.TempDir()
	outF, errF := filepath.Join(dir, "out"), filepath.Join(dir, "err")
	r := drove(t, nil, nil, "-n", ":", "--tag", "-o", outF, "-e", errF, "-j", "echo a; echo b >&2; printf c")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Empty(t, r.stdout)
	o, _ := os.ReadFile(outF)
	e, _ := os.ReadFile(errF)
	// The last line had no newline: it gets the prefix, and still no newline.
	require.Equal(t, "local: a\nlocal: c", string(o))
	require.Equal(t, "local: b\n", string(e))

	// A bare -o discards, as in clstr.
	r = drove(t, nil, nil, "-n", ":", "-j", "echo hidden", "-o")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Empty(t, r.stdout)
}

func TestOnEachNodeRunsOncePerDistinctNode(t *testing.T) {
	r := drove(t, nil, nil, "-n", "3/:", "-n", ":", "-E", "echo inventory")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "inventory\n", r.stdout)
}

// TestJobsStreamFromStdin: the first job runs before the stream ends; the
// writer only sends the second line once the first job's effect is seen.
func TestJobsStreamFromStdin(t *testing.T) {
	dir := t.TempDir()
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, "touch "+dir+"/first\n")
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(dir + "/first"); err == nil {
				_, _ = io.WriteString(pw, "echo second\n")
				_ = pw.Close()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		_ = pw.Close()
	}()
	r := drove(t, pr, nil, "-n", ":", "-J", "-")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "second\n", r.stdout, "the second job is only written after the first ran")
}

func TestActiveNodesListsRunningJobs(t *testing.T) {
	dir := t.TempDir()
	active := filepath.Join(dir, "active")
	release := filepath.Join(dir, "release")
	job := func(n string) string {
		return "i=0; while [ ! -e " + release + " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo " + n
	}
	done := make(chan result, 1)
	go func() { done <- drove(t, nil, nil, "-n", "2/:", "-A", active, "-j", job("a"), "-j", job("b")) }()
	want := []string{"local: " + job("a"), "local: " + job("b")}
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(active)
		if err != nil {
			return false
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		sort.Strings(lines)
		return strings.Join(lines, "|") == strings.Join(want, "|")
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, os.WriteFile(release, nil, 0o644))
	r := <-done
	require.Equal(t, exitOK, r.code, r.stderr)
	b, err := os.ReadFile(active)
	require.NoError(t, err)
	require.Empty(t, string(b), "the file is empty at the end")
}

// TestFirstInterruptDrains: after the first interrupt nothing new starts,
// running jobs finish, and drove exits 130 saying what never ran.
func TestFirstInterruptDrains(t *testing.T) {
	dir := t.TempDir()
	drain := make(chan struct{})
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, "touch "+dir+"/started; i=0; while [ ! -e "+dir+"/go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo finished\n")
		for {
			if _, err := os.Stat(dir + "/started"); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(drain)
		_ = os.WriteFile(dir+"/go", nil, 0o644)
		// A generator that never ends: drove must not wait for it.
		_, _ = io.WriteString(pw, "echo must-not-run\n")
	}()
	r := drove(t, pr, drain, "-n", ":", "-J", "-")
	_ = pw.Close()
	require.Equal(t, exitInterrupted, r.code, r.stderr)
	require.Equal(t, "finished\n", r.stdout)
	require.Contains(t, r.stderr, "interrupted")
	require.Contains(t, r.stderr, "the rest of the job stream was not read")
}

func TestHelpDocumentsExitStatuses(t *testing.T) {
	r := drove(t, nil, nil, "--help")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, "130 interrupted")
	require.Contains(t, r.stdout, "--on-each-node")
}

// The conventions users bring: bare seconds for durations (GNU parallel,
// pssh), "drove help", a Commands section, defaults shown, and a pointer
// to --help after a bad flag.
func TestCommandLineConventions(t *testing.T) {
	r := drove(t, nil, nil, "-n", ":", "--timeout", "0.2", "--on-failure", "keep", "-j", "sleep 5")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "timed out after 200ms")
	r = drove(t, nil, nil, "-n", ":", "--timeout", "30", "-j", "echo ok")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = drove(t, nil, nil, "-n", ":", "--timeout", "30x", "-j", "true")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, `"30x" is not a duration`)

	help := drove(t, nil, nil, "--help")
	require.Equal(t, exitOK, help.code)
	words := strings.Join(strings.Fields(help.stdout), " ") // however the help wraps
	for _, want := range []string{"Commands:", "partition", "sync", "Default: 3.", "Default: 5s."} {
		require.Contains(t, words, want)
	}
	r = drove(t, nil, nil, "help")
	require.Equal(t, help, r)
	r = drove(t, nil, nil, "help", "partition")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "drove partition -f 10000")

	r = drove(t, nil, nil, "--bogus")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "see 'drove --help'")
	r = drove(t, nil, nil, "sync", "--bogus")
	require.Contains(t, r.stderr, "see 'drove sync --help'")
}
