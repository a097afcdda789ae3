package main

import "github.com/drove-dev/drove/internal/mangen"

//go:generate go test -run TestManPage -update .

// manual is the prose of drove(1) that the command line model does not
// hold; the commands, arguments and flags come from the model (see
// TestManPage, which writes docs/drove.1).
func manual() mangen.Page {
	return mangen.Page{
		Section: 1,
		Source:  "drove",
		Manual:  "User Commands",
		Summary: "run shell jobs across machines over SSH, and copy big trees in parallel partitions",
		Description: `drove runs shell commands across a fleet of machines over SSH, one job per node slot at a time, and
accounts for every job at the end. A job that fails evicts its node (presumed broken) and runs
elsewhere. drove speaks SSH itself: it reads ssh_config(5), known_hosts, certificates and
ssh-agent as OpenSSH does, and never runs ssh(1). The node ':' is this machine (sh -c, no SSH).

drove partition splits a file tree into partitions (fpart-style) and prints one rsync or rclone job
per partition; drove sync copies a tree across the nodes in parallel partitions, with a final pass,
resumably.

Durations are seconds (30) or have a unit (90s, 5m, 2h).`,
		After: []mangen.Section{
			{Name: "Exit status", Body: `  0	every job succeeded (partition: the listing is complete; sync: everything copied, and verified if asked)
  1	some job failed or never ran (partition: entries could not be listed; sync: failed partitions, an incomplete crawl, a failed final pass or verify differences)
  2	bad command line, bad input or a bad line in a config file: nothing was run
  130	interrupted by SIGINT or SIGTERM`},
			{Name: "Files", Body: `Defaults for any flag, read at start, lowest precedence first; the command line overrides them:

  /etc/drove/config	system-wide defaults (skipped if missing)
  ~/.config/drove/config	the user's defaults ($XDG_CONFIG_HOME/drove/config if XDG_CONFIG_HOME is set; skipped if missing)

A config file holds "key = value" lines, where the key is a flag's long name without dashes, "#"
comment lines and blank lines. Keys outside any section apply to every command that has the flag;
keys under a command's header ("[run]", "[sync]", "[partition]", "[copy]", ...) apply to that command
only, and win over
keys outside sections. A value in double quotes keeps its spaces. A repeatable flag takes every line
of its key. A bad line (unknown key, bad value, bad syntax) stops drove with an error naming the
file and line, exit status 2. drove --dry-run lists the defaults taken and where from.

  # ~/.config/drove/config
  on-failure = keep
  status = true
  [sync]
  work = /shared/drove-work

Also read: ~/.ssh/config and /etc/ssh/ssh_config (see --ssh-config), ~/.ssh/known_hosts and
/etc/ssh/ssh_known_hosts, the identities ssh_config names.`},
			{Name: "Environment", Body: `  DROVE_CONFIG	a config file read instead of the user's (it must exist); /etc/drove/config is still read first
  XDG_CONFIG_HOME	where the user's config file is (default ~/.config)
  XDG_STATE_HOME	where drove sync keeps its work directory for ':' nodes (default ~/.local/state)
  SSH_AUTH_SOCK	the ssh-agent to use, unless ssh_config sets IdentityAgent
  HOME	where ~/.ssh and ~/.config are`},
			{Name: "Examples", Body: `A command on every node, identical outputs folded:

  drove -N nodes.txt -b -E 'uname -r'

A list of jobs over a fleet, with a status line and a GNU parallel job log; then resume it:

  drove -N nodes.txt -J jobs.txt --status --joblog run.log
  drove -N nodes.txt -J jobs.txt --joblog run.log --resume

Partition a tree and run the copy jobs:

  drove partition -f 10000 -o /shared/parts /data/src /data/dst | drove -N nodes.txt -J -

Copy a tree in one command, resumably, and verify it:

  drove sync -N nodes.txt -d /shared/work --verify /mnt/src /mnt/dst

Shell completion for bash:

  source <(drove completion bash)`},
			{Name: "See also", Body: `pdsh(1), clush(1), parallel(1), fpsync(1), rsync(1), rclone(1), ssh_config(5)`},
		},
	}
}
