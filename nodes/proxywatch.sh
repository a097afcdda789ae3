# shellcheck shell=sh
# The watchdog of a ProxyCommand (proxycmd_unix.go), run as "sh -c" in a
# process group of its own that the ProxyCommand then joins. fd 3 is the read
# end of a pipe whose write end only drove holds: it ends when drove closes
# it (the connection is over) or dies, even by SIGKILL. Then everything
# still in the group (the command's children too: "a | b", a script, a
# relay that forks) is killed, the watchdog last. It ignores the hang-up
# drove sends the group, so that it outlives the command.
trap '' HUP INT TERM
while read -r _ <&3; do :; done
kill -KILL 0
