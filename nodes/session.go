package nodes

import (
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// SessionEnv returns the variables t sends with each session, as ssh does:
// the SendEnv patterns matched against environ (NAME=VALUE entries, e.g.
// os.Environ()), then SetEnv, whose value wins for a name in both.
func (t *Target) SessionEnv(environ []string) []string {
	var out []string
	set := map[string]bool{}
	for _, kv := range t.SetEnv {
		name, _, _ := strings.Cut(kv, "=")
		set[name] = true
	}
	if len(t.SendEnv) > 0 {
		for _, kv := range environ {
			name, _, ok := strings.Cut(kv, "=")
			if !ok || set[name] {
				continue
			}
			for _, p := range t.SendEnv {
				if wildcardMatch(name, p) {
					out = append(out, kv)
					break
				}
			}
		}
	}
	return append(out, t.SetEnv...)
}

// PrepareSession applies t's session options to s before its command
// starts: the SessionEnv variables of this process's environment (a variable
// the server refuses, because sshd's AcceptEnv does not allow it, is
// skipped silently, as ssh does) and, with ForwardAgent, an agent forwarding
// request (Dial has already routed the forwarded connections to the agent).
// The runner calls it for every session it opens.
func PrepareSession(t *Target, s *ssh.Session) error {
	for _, kv := range t.SessionEnv(os.Environ()) {
		name, val, _ := strings.Cut(kv, "=")
		_ = s.Setenv(name, val)
	}
	if t.ForwardAgent {
		return agent.RequestAgentForwarding(s)
	}
	return nil
}

// forwardAgent routes the agent channels the server opens on c to t's agent
// socket, when t has ForwardAgent. Without an agent, the forwarding request of
// PrepareSession still goes out and the server's agent channels are refused.
func (d *Dialer) forwardAgent(t *Target, c *ssh.Client) {
	if !t.ForwardAgent {
		return
	}
	sock := t.ForwardAgentSocket
	if sock == "" {
		sock = d.agentSocket(t)
	}
	if sock == "" {
		d.noteOnce("fwd-agent:"+t.String(), "nodes: %s: ForwardAgent set but there is no agent to forward", t)
		return
	}
	if err := agent.ForwardToRemote(c, sock); err != nil {
		d.noteOnce("fwd-agent:"+t.String(), "nodes: %s: not forwarding the agent: %v", t, err)
	}
}
