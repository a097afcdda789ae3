package nodes

import (
	"os"
	"strings"

	"github.com/drove-dev/drove/internal/sshpattern"
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
				if sshpattern.Match(name, p) {
					out = append(out, kv)
					break
				}
			}
		}
	}
	return append(out, t.SetEnv...)
}

// sessionConn makes every session channel opened on a client carry t's
// session options, as ssh sends them right after opening the channel and
// without waiting for replies: "env" for each SessionEnv variable of this
// process's environment (sshd drops those its AcceptEnv does not allow) and,
// with ForwardAgent, "auth-agent-req@openssh.com". Callers of
// (*ssh.Client).NewSession get them without doing anything.
type sessionConn struct {
	ssh.Conn
	env   [][2]string
	agent bool
}

// newSessionConn wraps c when t has session options, else returns c.
func newSessionConn(c ssh.Conn, t *Target) ssh.Conn {
	env := t.SessionEnv(os.Environ())
	if len(env) == 0 && !t.ForwardAgent {
		return c
	}
	sc := &sessionConn{Conn: c, agent: t.ForwardAgent}
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		sc.env = append(sc.env, [2]string{name, val})
	}
	return sc
}

func (c *sessionConn) OpenChannel(name string, data []byte) (ssh.Channel, <-chan *ssh.Request, error) {
	ch, reqs, err := c.Conn.OpenChannel(name, data)
	if err != nil || name != "session" {
		return ch, reqs, err
	}
	for _, kv := range c.env {
		if _, err := ch.SendRequest("env", false, ssh.Marshal(struct{ Name, Value string }{kv[0], kv[1]})); err != nil {
			ch.Close()
			return nil, nil, err
		}
	}
	if c.agent {
		if _, err := ch.SendRequest("auth-agent-req@openssh.com", false, nil); err != nil {
			ch.Close()
			return nil, nil, err
		}
	}
	return ch, reqs, nil
}

// forwardAgent routes the agent channels the server opens on c to t's agent
// socket, when t has ForwardAgent. Without an agent, the sessions' forwarding
// requests still go out and the server's agent channels are refused.
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
