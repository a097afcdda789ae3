//go:build slow && unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drove-dev/drove/internal/shquote"
	"github.com/drove-dev/drove/internal/tmuxtest"
	"github.com/stretchr/testify/require"
)

// droveOnPath puts a "drove" on a fresh PATH directory that runs this test
// binary as drove (see TestMain), with HOME set to home, and returns the
// directory.
func droveOnPath(t *testing.T, home string) string {
	t.Helper()
	self, err := filepath.Abs(os.Args[0])
	require.NoError(t, err)
	bin := t.TempDir()
	script := "#!/bin/sh\nHOME=" + shquote.Quote(home) + " DROVE_AS_MAIN=1 exec " + shquote.Quote(self) + " \"$@\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "drove"), []byte(script), 0o755))
	return bin
}

// fakeHome is a home directory with an ssh_config (an Include, patterns)
// and a known_hosts (hashed, bracketed and plain names).
func fakeHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	ssh := filepath.Join(home, ".ssh")
	require.NoError(t, os.MkdirAll(filepath.Join(ssh, "conf.d"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(ssh, "config"), []byte("Include conf.d/*.conf\nHost web1 web2 *.lan !bad\n  User u\nHost=db1\nMatch host x\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(ssh, "conf.d", "gpu.conf"), []byte("host gpu7\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(ssh, "known_hosts"), []byte(
		"web1,10.0.0.1 ssh-ed25519 AAAA\n|1|abc=|def= ssh-ed25519 AAAA\n[alt]:2222 ssh-ed25519 AAAA\n[std]:22 ssh-ed25519 AAAA\n@revoked gone ssh-ed25519 AAAA\n*.example.com ssh-ed25519 AAAA\n"), 0o600))
	return home
}

// bashComplete loads "drove completion bash" into a real bash and returns
// what the registered function offers for the words of line (the last
// word, possibly empty, is the one completed), splitting words as
// readline does with = in COMP_WORDBREAKS.
func bashComplete(t *testing.T, bin, line string) []string {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	script := `
set -o pipefail
source <(drove completion bash)
fn=$(complete -p drove | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
line=$1
read -ra COMP_WORDS <<< "$line"
[[ $line == *" " ]] && COMP_WORDS+=("")
# readline splits --flag=value into --flag = value
words=()
for w in "${COMP_WORDS[@]}"; do
  if [[ $w == --*=* ]]; then words+=("${w%%=*}" "=" ); [[ -n ${w#*=} ]] && words+=("${w#*=}"); else words+=("$w"); fi
done
COMP_WORDS=("${words[@]}")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE=$line COMP_POINT=${#line}
"$fn" drove "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
`
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script, "bash", line)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			got = append(got, l)
		}
	}
	slices.Sort(got)
	return got
}

func TestBashCompletion(t *testing.T) {
	home := fakeHome(t)
	bin := droveOnPath(t, home)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "jobs.txt"), nil, 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "srcdir"), 0o755))

	require.Equal(t, []string{"--job", "--job-file", "--joblog"}, bashComplete(t, bin, "drove --jo"))
	require.Equal(t, []string{"--job-file"}, bashComplete(t, bin, "drove -n : --job-f"))
	require.Equal(t, []string{"completion", "copy", "partition", "rcopy", "run", "sync", "version"}, bashComplete(t, bin, "drove "))
	require.Equal(t, []string{"sync"}, bashComplete(t, bin, "drove sy"))
	// Per command: sync's flags, not run's.
	require.Equal(t, []string{"--verbose", "--verify", "--version"}, bashComplete(t, bin, "drove sync --ve"))
	require.Empty(t, bashComplete(t, bin, "drove sync --jo"))
	// Enum values, as --flag value and --flag=value.
	require.Equal(t, []string{"keep"}, bashComplete(t, bin, "drove --on-failure k"))
	require.Equal(t, []string{"evict", "keep", "retry"}, bashComplete(t, bin, "drove --on-failure="))
	require.Equal(t, []string{"rclone", "rsync"}, bashComplete(t, bin, "drove sync --mode r"))
	require.Equal(t, []string{"bash"}, bashComplete(t, bin, "drove completion b"))
	// Files for file flags, directories for directory flags.
	require.Equal(t, []string{filepath.Join(dir, "jobs.txt")}, bashComplete(t, bin, "drove -J "+filepath.Join(dir, "jo")))
	require.Equal(t, []string{filepath.Join(dir, "jobs.txt")}, bashComplete(t, bin, "drove --job-file="+filepath.Join(dir, "j")))
	require.Equal(t, []string{filepath.Join(dir, "srcdir")}, bashComplete(t, bin, "drove partition -o "+dir+"/"))
	require.Equal(t, []string{filepath.Join(dir, "srcdir")}, bashComplete(t, bin, "drove sync "+dir+"/"))
	// No completion for a value nothing completes.
	require.Empty(t, bashComplete(t, bin, "drove --timeout "))
	// Node names from ~/.ssh/config (with its Include) and known_hosts.
	require.Equal(t, []string{"alt:2222", "db1", "gpu7", "std", "web1", "web2"}, bashComplete(t, bin, "drove -n "))
	require.Equal(t, []string{"web1", "web2"}, bashComplete(t, bin, "drove sync --node=we"))
	require.Equal(t, []string{"alice@web1", "alice@web2"}, bashComplete(t, bin, "drove -n alice@w"))
	require.Equal(t, []string{"4/gpu7"}, bashComplete(t, bin, "drove --jump x -n 4/g"))
}

// shellInTerm starts an interactive shell (argv, quoted for sh) in a
// terminal with drove on PATH, runs setup in it and waits for mark.
func shellInTerm(t *testing.T, bin, shell, setup, mark string) *tmuxtest.Term {
	t.Helper()
	if _, err := exec.LookPath(shell); err != nil {
		t.Skipf("%s not installed", shell)
	}
	dir := t.TempDir()
	tm := tmuxtest.Start(t, 120, 30, "cd "+shquote.Quote(dir)+" && PATH="+shquote.Quote(bin)+":$PATH HOME="+shquote.Quote(dir)+" exec "+shell)
	tm.SendKeys(true, setup+"; echo "+mark)
	tm.SendKeys(false, "Enter")
	tm.WaitFor(mark, func(s tmuxtest.Screen) bool { return countRows(s, "^"+mark+"$") == 1 })
	return tm
}

// TestZshCompletion types "drove --jo" TAB TAB in a real zsh with the
// script loaded after compinit, and reads the candidates off the screen.
func TestZshCompletion(t *testing.T) {
	bin := droveOnPath(t, fakeHome(t))
	tm := shellInTerm(t, bin, "zsh", "autoload -Uz compinit && compinit -u -D && source <(drove completion zsh)", "LOADED")
	tm.SendKeys(true, "drove --jo")
	tm.SendKeys(false, "Tab", "Tab")
	s := tm.WaitFor("--joblog and --job-file listed", func(s tmuxtest.Screen) bool {
		return strings.Contains(s.String(), "--joblog") && strings.Contains(s.String(), "--job-file")
	})
	require.NotContains(t, s.String(), "--verify")

	tm.SendKeys(false, "C-u")
	tm.SendKeys(true, "drove sync -n we")
	tm.SendKeys(false, "Tab", "Tab")
	tm.WaitFor("web1 and web2 listed", func(s tmuxtest.Screen) bool {
		return countRows(s, `\bweb1\b`) > 0 && countRows(s, `\bweb2\b`) > 0
	})
}

// TestFishCompletion asks a real fish what it completes (complete -C).
func TestFishCompletion(t *testing.T) {
	if _, err := exec.LookPath("fish"); err != nil {
		t.Skip("fish not installed (apt-get install fish)")
	}
	bin := droveOnPath(t, fakeHome(t))
	ask := func(line string) []string {
		cmd := exec.Command("fish", "--no-config", "-c", "drove completion fish | source; complete -C "+shquote.Quote(line))
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if w, _, _ := strings.Cut(l, "\t"); w != "" {
				got = append(got, w)
			}
		}
		slices.Sort(got)
		return got
	}
	require.Equal(t, []string{"--job", "--job-file", "--joblog"}, ask("drove --jo"))
	require.Equal(t, []string{"--verbose", "--verify", "--version"}, ask("drove sync --ve"))
	require.Equal(t, []string{"evict", "keep", "retry"}, ask("drove --on-failure "))
	require.Equal(t, []string{"sync"}, ask("drove sy"))
	require.Equal(t, []string{"alt:2222", "db1", "gpu7", "std", "web1", "web2"}, ask("drove -n "))
	require.Equal(t, []string{"alice@web1", "alice@web2"}, ask("drove -n alice@we"))
}
