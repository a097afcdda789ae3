package nodes

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/drove-dev/drove/hostlist"
)

// Setting is one resolved option of a node and where its value came from,
// like a line of ssh -G with the file:line that set it.
type Setting struct {
	Option string // ssh_config keyword, e.g. "HostName"
	Value  string // as drove uses it (expanded); "" = unset
	// Origin is "FILE:LINE" (~ for the home directory) of the ssh_config
	// line that set it, "node spec" (user@host:port), "option" (a Dialer
	// Options field, i.e. a command-line flag) or "default".
	Origin string
}

// Explain resolves spec and lists the options drove uses for it, in ssh -G's
// spirit, each with its origin. Errors are those of Resolve.
func (d *Dialer) Explain(spec hostlist.Spec) ([]Setting, error) {
	t, err := d.Resolve(spec)
	if err != nil {
		return nil, err
	}
	if spec.Local() {
		return nil, nil
	}
	cfg := d.cfg.Eval(&d.cfgEnv, t.Spec.Host, t.Spec.User, t.Spec.Port)
	var out []Setting
	origin := func(key string) string {
		if l := cfg.GetLine(key); l != nil {
			return d.displayOrigin(l)
		}
		return "default"
	}
	add := func(key, val string) { out = append(out, Setting{key, val, origin(key)}) }
	addAll := func(key string, vals []string) {
		var origins []string
		for _, l := range cfg.Lines() {
			if l.Key == strings.ToLower(key) {
				origins = append(origins, d.displayOrigin(l))
			}
		}
		o := "default"
		if len(origins) > 0 {
			o = strings.Join(origins, ",")
		}
		out = append(out, Setting{key, strings.Join(vals, " "), o})
	}
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	add("HostName", t.HostName)
	out = append(out, Setting{"User", t.User, specOr(spec.User != "", origin("User"))})
	out = append(out, Setting{"Port", strconv.Itoa(t.Port), specOr(spec.Port != 0, origin("Port"))})
	addAll("IdentityFile", t.IdentityFiles)
	addAll("CertificateFile", t.CertificateFiles)
	add("IdentitiesOnly", yn(t.IdentitiesOnly))
	add("IdentityAgent", d.agentSocket(t))
	ct := Setting{"ConnectTimeout", t.ConnectTimeout.String(), origin("ConnectTimeout")}
	if ct.Origin == "default" && d.opts.ConnectTimeout > 0 {
		ct.Origin = "option"
	}
	out = append(out, ct)
	sh := Setting{"StrictHostKeyChecking", t.StrictHostKeyChecking, origin("StrictHostKeyChecking")}
	if d.strict != "" {
		sh.Origin = "option"
	}
	out = append(out, sh)
	add("UserKnownHostsFile", strings.Join(t.KnownHostsFiles, " "))
	add("GlobalKnownHostsFile", strings.Join(t.GlobalKnownHostsFiles, " "))
	add("HashKnownHosts", yn(t.HashKnownHosts))
	add("HostKeyAlias", t.HostKeyAlias)
	add("CheckHostIP", yn(t.CheckHostIP))
	add("ServerAliveInterval", t.ServerAliveInterval.String())
	add("ServerAliveCountMax", strconv.Itoa(t.ServerAliveCountMax))
	add("ProxyCommand", t.ProxyCommand)
	pj := Setting{"ProxyJump", t.ProxyJump, origin("ProxyJump")}
	if t.ProxyJump != "" && pj.Origin == "default" {
		pj.Origin = "option"
	}
	out = append(out, pj)
	addAll("SendEnv", t.SendEnv)
	add("SetEnv", strings.Join(t.SetEnv, " "))
	fa := yn(t.ForwardAgent)
	if t.ForwardAgentSocket != "" {
		fa = t.ForwardAgentSocket
	}
	add("ForwardAgent", fa)
	add("BatchMode", yn(t.BatchMode))
	add("AddKeysToAgent", t.AddKeysToAgent)
	add("LogLevel", t.LogLevel)
	return out, nil
}

func specOr(fromSpec bool, o string) string {
	if fromSpec {
		return "node spec"
	}
	return o
}

// String formats a Setting as "Option value  # origin".
func (s Setting) String() string {
	v := s.Value
	if v == "" {
		v = "none"
	}
	return fmt.Sprintf("%s %s\t# %s", s.Option, v, s.Origin)
}
