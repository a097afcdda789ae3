package hostlist

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
		key  string
		str  string
	}{
		{"web1", Spec{Slots: 1, Host: "web1"}, "web1", "web1"},
		{"  web1\t", Spec{Slots: 1, Host: "web1"}, "web1", "web1"},
		{"alice@web1", Spec{Slots: 1, User: "alice", Host: "web1"}, "alice@web1", "alice@web1"},
		{"web1:2222", Spec{Slots: 1, Host: "web1", Port: 2222}, "web1:2222", "web1:2222"},
		{"4/alice@web1:2222", Spec{Slots: 4, User: "alice", Host: "web1", Port: 2222}, "alice@web1:2222", "4/alice@web1:2222"},
		{"1/web1", Spec{Slots: 1, Host: "web1"}, "web1", "web1"},
		{":", Spec{Slots: 1, Host: ":"}, ":", ":"},
		{"3/:", Spec{Slots: 3, Host: ":"}, ":", "3/:"},
		{"10.0.0.5:65535", Spec{Slots: 1, Host: "10.0.0.5", Port: 65535}, "10.0.0.5:65535", "10.0.0.5:65535"},
		{"[::1]", Spec{Slots: 1, Host: "::1"}, "::1", "::1"},
		{"::1", Spec{Slots: 1, Host: "::1"}, "::1", "::1"},
		{"[::1]:2222", Spec{Slots: 1, Host: "::1", Port: 2222}, "[::1]:2222", "[::1]:2222"},
		{"2/bob@[fe80::1%eth0]:22", Spec{Slots: 2, User: "bob", Host: "fe80::1%eth0", Port: 22}, "bob@[fe80::1%eth0]:22", "2/bob@[fe80::1%eth0]:22"},
		{"a@b@host", Spec{Slots: 1, User: "a@b", Host: "host"}, "a@b@host", "a@b@host"},
		{"DOM\\u.x-y_z@web_1.example.com", Spec{Slots: 1, User: "DOM\\u.x-y_z", Host: "web_1.example.com"}, "DOM\\u.x-y_z@web_1.example.com", "DOM\\u.x-y_z@web_1.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSpec(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.key, got.Key())
			assert.Equal(t, tt.str, got.String())
			assert.Equal(t, tt.want.Host == ":", got.Local())
			again, err := ParseSpec(got.String())
			require.NoError(t, err, "String() must parse back")
			assert.Equal(t, got, again)
		})
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"", `bad node spec "": empty`},
		{"   ", `bad node spec "": empty`},
		{"web1:0", `bad node spec "web1:0": port out of range`},
		{"web1:65536", `bad node spec "web1:65536": port out of range`},
		{"web1:99999999999999999999", `bad node spec "web1:99999999999999999999": port out of range`},
		{"web1:abc", `bad node spec "web1:abc": bad port "abc"`},
		{"web1:-1", `bad node spec "web1:-1": bad port "-1"`},
		{"web1:", `bad node spec "web1:": empty port`},
		{"@h", `bad node spec "@h": empty user`},
		{"0/h", `bad node spec "0/h": slot count must be at least 1`},
		{"x/h", `bad node spec "x/h": bad slot count "x"`},
		{"/h", `bad node spec "/h": bad slot count ""`},
		{"-1/h", `bad node spec "-1/h": bad slot count "-1"`},
		{"99999999/h", `bad node spec "99999999/h": slot count 99999999 too large (max 1048576)`},
		{"4/", `bad node spec "4/": empty host`},
		{"alice@", `bad node spec "alice@": empty host`},
		{":22", `bad node spec ":22": empty host`},
		{"alice@:", `bad node spec "alice@:": the local node ":" takes no user`},
		{"web 1", `bad node spec "web 1": bad character ' ' in host`},
		{"web1/x", `bad node spec "web1/x": bad slot count "web1"`},
		{"2/a/b", `bad node spec "2/a/b": bad character '/' in host`},
		{"-oProxyCommand=x", `bad node spec "-oProxyCommand=x": host starts with '-'`},
		{"-x@h", `bad node spec "-x@h": user starts with '-'`},
		{"a'b@h", `bad node spec "a'b@h": bad character '\'' in user`},
		{"$(reboot)", `bad node spec "$(reboot)": bad character '$' in host`},
		{"h;ls", `bad node spec "h;ls": bad character ';' in host`},
		{"[::1", `bad node spec "[::1": missing ']' after IPv6 address`},
		{"[web1]:22", `bad node spec "[web1]:22": brackets are only for IPv6 addresses`},
		{"[::1]x", `bad node spec "[::1]x": unexpected "x" after ']'`},
		{"[::1]:0", `bad node spec "[::1]:0": port out of range`},
		{"1:2:zz", `bad node spec "1:2:zz": bad IPv6 address "1:2:zz"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseSpec(tt.in)
			require.Error(t, err)
			var se *SpecError
			require.True(t, errors.As(err, &se), "want *SpecError, got %T", err)
			assert.Equal(t, tt.msg, err.Error())
			assert.Empty(t, se.File)
			assert.Zero(t, se.Line)
			assert.NotNil(t, errors.Unwrap(err))
		})
	}
}

func TestParseFile(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "testdata", "nodes", "nodes.txt"))
	require.NoError(t, err)
	defer f.Close()
	specs, err := ParseFile(f, "nodes.txt")
	require.NoError(t, err)
	var got []string
	for _, s := range specs {
		got = append(got, s.String())
	}
	assert.Equal(t, []string{"web1", "alice@web2:2222", "4/:", "web1", "[::1]:2200", "3/db1", "bob@10.0.0.7"}, got)
}

func TestParseFileCRLFAndComments(t *testing.T) {
	in := "# header\r\n\r\n  web1  \r\n\t# indented comment\r\nweb2#no space\r\n2/web3 # two slots\r\n"
	specs, err := ParseFile(strings.NewReader(in), "crlf.txt")
	require.NoError(t, err)
	assert.Equal(t, []Spec{{Slots: 1, Host: "web1"}, {Slots: 1, Host: "web2"}, {Slots: 2, Host: "web3"}}, specs)

	specs, err = ParseFile(strings.NewReader(""), "empty.txt")
	require.NoError(t, err)
	assert.Empty(t, specs)
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct{ name, in, msg string }{
		{"nodes.txt", "web1\n# c\nx:99999\nweb2\n", `nodes.txt:3: bad node spec "x:99999": port out of range`},
		{"n.txt", "web1\r\n\r\n0/web2\r\n", `n.txt:3: bad node spec "0/web2": slot count must be at least 1`},
		{"n.txt", "@h # who?\n", `n.txt:1: bad node spec "@h": empty user`},
		{"n.txt", "web1 web2\n", `n.txt:1: bad node spec "web1 web2": bad character ' ' in host`},
		{"", "x/h\n", `line 1: bad node spec "x/h": bad slot count "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			_, err := ParseFile(strings.NewReader(tt.in), tt.name)
			require.Error(t, err)
			assert.Equal(t, tt.msg, err.Error())
			var se *SpecError
			require.True(t, errors.As(err, &se))
			assert.Equal(t, tt.name, se.File)
		})
	}

	f, err := os.Open(filepath.Join("..", "testdata", "nodes", "bad-nodes.txt"))
	require.NoError(t, err)
	defer f.Close()
	_, err = ParseFile(f, "bad-nodes.txt")
	assert.EqualError(t, err, `bad-nodes.txt:4: bad node spec "web9:65536": port out of range`)

	_, err = ParseFile(strings.NewReader("web1\n"+strings.Repeat("a", maxLine+10)+"\n"), "long.txt")
	assert.EqualError(t, err, "nodes: long.txt:2: line longer than 65536 bytes")
}

func TestMerge(t *testing.T) {
	in := []Spec{
		{Slots: 1, Host: "web1"},
		{Slots: 2, User: "alice", Host: "web1"},
		{Slots: 3, Host: "web1"},
		{Slots: 1, Host: ":"},
		{Slots: 0, Host: "db"}, // hand-built zero slots count as one
		{Slots: 1, Host: "web1", Port: 22},
		{Slots: 2, Host: ":"},
		{Slots: 1, User: "alice", Host: "web1"},
	}
	orig := append([]Spec(nil), in...)
	got := Merge(in)
	assert.Equal(t, []Spec{
		{Slots: 4, Host: "web1"},
		{Slots: 3, User: "alice", Host: "web1"},
		{Slots: 3, Host: ":"},
		{Slots: 1, Host: "db"},
		{Slots: 1, Host: "web1", Port: 22},
	}, got)
	assert.Equal(t, orig, in, "Merge must not modify its input")
	assert.Empty(t, Merge(nil))
}
