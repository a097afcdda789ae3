package sshconfig

import "strings"

// openSSHKeywords are the ssh_config keywords OpenSSH knows (readconf.c,
// including deprecated and unsupported ones, which OpenSSH accepts quietly).
// A keyword outside this set is reported once, unless IgnoreUnknown names it.
var openSSHKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range []string{
		"addkeystoagent", "addressfamily", "afstokenpassing", "batchmode", "bindaddress", "bindinterface",
		"canonicaldomains", "canonicalizefallbacklocal", "canonicalizehostname", "canonicalizemaxdots",
		"canonicalizepermittedcnames", "casignaturealgorithms", "certificatefile",
		"challengeresponseauthentication", "channeltimeout", "checkhostip", "cipher", "ciphers",
		"clearallforwardings", "compression", "compressionlevel", "connectionattempts", "connecttimeout",
		"controlmaster", "controlpath", "controlpersist", "dsaauthentication", "dynamicforward",
		"enableescapecommandline", "enablesshkeysign", "escapechar", "exitonforwardfailure",
		"fallbacktorsh", "fingerprinthash", "forkafterauthentication", "forwardagent", "forwardx11",
		"forwardx11timeout", "forwardx11trusted", "gatewayports", "globalknownhostsfile",
		"globalknownhostsfile2", "gssapiauthentication", "gssapidelegatecredentials", "hashknownhosts",
		"host", "hostbasedacceptedalgorithms", "hostbasedauthentication", "hostbasedkeytypes",
		"hostkeyalgorithms", "hostkeyalias", "hostname", "identitiesonly", "identityagent",
		"identityfile", "identityfile2", "ignoreunknown", "include", "ipqos",
		"kbdinteractiveauthentication", "kbdinteractivedevices", "keepalive", "kerberosauthentication",
		"kerberostgtpassing", "kexalgorithms", "knownhostscommand", "localcommand", "localforward",
		"loglevel", "logverbose", "macs", "match", "nohostauthenticationforlocalhost",
		"numberofpasswordprompts", "obscurekeystroketiming", "passwordauthentication",
		"permitlocalcommand", "permitremoteopen", "pkcs11provider", "port", "preferredauthentications",
		"protocol", "proxycommand", "proxyjump", "proxyusefdpass", "pubkeyacceptedalgorithms",
		"pubkeyacceptedkeytypes", "pubkeyauthentication", "refuseconnection", "rekeylimit",
		"remotecommand", "remoteforward", "requesttty", "requiredrsasize", "revokedhostkeys",
		"rhostsauthentication", "rhostsrsaauthentication", "rsaauthentication", "securitykeyprovider",
		"sendenv", "serveralivecountmax", "serveraliveinterval", "sessiontype", "setenv",
		"skeyauthentication", "smartcarddevice", "stdinnull", "streamlocalbindmask",
		"streamlocalbindunlink", "stricthostkeychecking", "syslogfacility", "tag", "tcpkeepalive",
		"tisauthentication", "tunnel", "tunneldevice", "updatehostkeys", "useprivilegedport", "user",
		"userknownhostsfile", "userknownhostsfile2", "useroaming", "usersh", "verifyhostkeydns",
		"versionaddendum", "visualhostkey", "warnweakcrypto", "xauthlocation",
	} {
		m[k] = true
	}
	return m
}()

func knownKeyword(k string) bool { return openSSHKeywords[k] }

// notHonoured are keywords that change how ssh connects or authenticates and
// that drove does not implement; an active line setting one (to anything but
// no/none) is reported once, with the reason.
var notHonoured = map[string]string{
	"addressfamily":                    "drove dials the address the resolver gives first",
	"bindaddress":                      "not implemented",
	"bindinterface":                    "not implemented",
	"canonicalizehostname":             "host names are not canonicalized",
	"ciphers":                          "x/crypto/ssh defaults are used",
	"connectionattempts":               "drove retries dropped handshakes on its own schedule",
	"dynamicforward":                   "drove sets up no forwardings",
	"hostkeyalgorithms":                "drove orders host key algorithms from known_hosts as OpenSSH's default does",
	"kexalgorithms":                    "x/crypto/ssh defaults are used",
	"knownhostscommand":                "not implemented",
	"localforward":                     "drove sets up no forwardings",
	"macs":                             "x/crypto/ssh defaults are used",
	"nohostauthenticationforlocalhost": "host keys are always checked",
	"pkcs11provider":                   "use ssh-agent for PKCS#11 keys",
	"pubkeyacceptedalgorithms":         "x/crypto/ssh defaults are used",
	"pubkeyacceptedkeytypes":           "x/crypto/ssh defaults are used",
	"remotecommand":                    "drove runs its own commands",
	"remoteforward":                    "drove sets up no forwardings",
	"revokedhostkeys":                  "not implemented; use @revoked lines in known_hosts",
	"securitykeyprovider":              "use ssh-agent for security keys",
}

// reportNotHonoured reports whether an active line for key should be noted.
func reportNotHonoured(l *Line) (string, bool) {
	why, ok := notHonoured[l.Key]
	if !ok {
		return "", false
	}
	if len(l.Args) > 0 && (strings.EqualFold(l.Args[0], "no") || strings.EqualFold(l.Args[0], "none")) {
		return "", false
	}
	return why, true
}
