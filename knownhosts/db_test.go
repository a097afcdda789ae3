package knownhosts

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// readAll is the reference a DB must agree with: every line of files
// parsed, none skipped for its host.
func readAll(t *testing.T, files []string) []Entry {
	t.Helper()
	var out []Entry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for n, line := range strings.Split(string(b), "\n") {
			line := bytes.TrimSpace([]byte(line))
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			e, err := ParseLine(line)
			if err != nil {
				continue
			}
			e.File, e.Line = f, n+1
			out = append(out, e)
		}
	}
	return out
}

// TestDBKeepsEveryLineOfItsNames builds random known_hosts files (plain
// names and addresses in any case, [host]:port, wildcards, negations,
// hashed names, @cert-authority and @revoked, comments, bad lines), and
// checks that for every name a DB returns the same decisions and lines as
// reading every line would, whether the names are wanted together, one by
// one, or concurrently.
func TestDBKeepsEveryLineOfItsNames(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var keys []ssh.PublicKey
	for range 4 {
		keys = append(keys, newEd25519Signer(t).PublicKey())
	}
	names := []string{"web1", "web2.example.com", "[web3]:2222", "10.0.0.1", "[10.0.0.2]:22", "db.internal", "other"}
	cased := func(s string) string {
		if r.IntN(3) == 0 {
			return strings.ToUpper(s)
		}
		return s
	}
	pattern := func() string {
		switch r.IntN(6) {
		case 0:
			return "*.example.com"
		case 1:
			return "web?"
		case 2:
			return "!" + names[r.IntN(len(names))]
		case 3:
			return "[web3]:*"
		default:
			return cased(names[r.IntN(len(names))])
		}
	}
	for round := range 20 {
		dir := t.TempDir()
		var files []string
		for fi := range 2 {
			var b strings.Builder
			for range 200 {
				key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(keys[r.IntN(len(keys))])))
				var host string
				switch r.IntN(5) {
				case 0:
					host = HashHostname(strings.ToLower(names[r.IntN(len(names))]))
				case 1:
					host = pattern() + "," + pattern()
				default:
					host = cased(names[r.IntN(len(names))])
				}
				switch r.IntN(12) {
				case 0:
					fmt.Fprintf(&b, "@cert-authority %s %s\n", host, key)
				case 1:
					fmt.Fprintf(&b, "@revoked %s %s\n", host, key)
				case 2:
					b.WriteString("# comment " + host + "\n")
				case 3:
					fmt.Fprintf(&b, "%s ssh-ed25519 !!!bad\n", host)
				case 4:
					b.WriteString("\n")
				default:
					fmt.Fprintf(&b, "  %s\t%s comment\n", host, key)
				}
			}
			f := filepath.Join(dir, fmt.Sprintf("known_hosts%d", fi))
			require.NoError(t, os.WriteFile(f, []byte(b.String()), 0o600))
			files = append(files, f)
		}
		ref := &DB{entries: readAll(t, files)}
		ref.names = map[string]error{}
		for _, n := range names {
			ref.names[strings.ToLower(n)] = nil
		}
		together := Open(files, nil)
		require.NoError(t, together.Want(names...))
		oneByOne := Open(files, nil)
		concurrent := Open(files, nil)
		var wg sync.WaitGroup
		for _, n := range names {
			wg.Go(func() { assert.NoError(t, concurrent.Want(n)) })
		}
		wg.Wait()
		for _, n := range names {
			require.NoError(t, oneByOne.Want(n))
			for _, db := range []*DB{together, oneByOne, concurrent} {
				for _, k := range keys {
					wst, we := ref.Lookup(n, k)
					st, e := db.Lookup(n, k)
					require.Equal(t, wst, st, "round %d, %s", round, n)
					require.Equal(t, we, e, "round %d, %s", round, n)
				}
				assert.Equal(t, ref.HasCA(n), db.HasCA(n))
				assert.Equal(t, ref.PlainKeys(n), db.PlainKeys(n))
			}
		}
	}
}

// TestStoreRecordIsSeenWithoutRereading: a key Record appends is in the
// Store's databases at once, numbered as the file's next line, and a fresh
// read of the file agrees.
func TestStoreRecordIsSeenWithoutRereading(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	old := newEd25519Signer(t).PublicKey()
	require.NoError(t, os.WriteFile(kh, []byte("# header\nweb9 "+authLine(old)+"\nno-newline "+authLine(old)), 0o600))
	s := NewStore()
	db := s.DB([]string{kh}, nil)
	require.NoError(t, db.Want("web1"))
	key := newEd25519Signer(t).PublicKey()
	st, _ := db.Lookup("web1", key)
	require.Equal(t, New, st)
	require.NoError(t, s.Record(kh, "web1 "+authLine(key), "web1 "+authLine(key)))
	st, e := db.Lookup("web1", key)
	require.Equal(t, OK, st)
	assert.Equal(t, 4, e.Line)
	fresh := Open([]string{kh}, nil)
	st, e2 := fresh.Lookup("web1", key)
	require.Equal(t, OK, st)
	assert.Equal(t, *e, *e2)
}

func authLine(k ssh.PublicKey) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) }

// BenchmarkDBWant reads one name's lines from a known_hosts of -size lines
// for other hosts, half hashed: B/op must not grow with the file (the
// lines are streamed, only the name's kept); ns/op grows with it, as
// ssh's lookup does. bench/knownhosts.sh compares drove with ssh.
func BenchmarkDBWant(b *testing.B) {
	for _, mb := range []int{1, 8} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			kh := filepath.Join(b.TempDir(), "known_hosts")
			f, err := os.Create(kh)
			require.NoError(b, err)
			w := bufio.NewWriter(f)
			key := authLine(newEd25519Signer(b).PublicKey())
			for i, n := 0, 0; n < mb<<20; i++ {
				host := fmt.Sprintf("host%d.example,10.%d.%d.%d", i, i>>16&255, i>>8&255, i&255)
				if i%2 == 1 {
					host = HashHostname(fmt.Sprintf("host%d.example", i))
				}
				k, _ := fmt.Fprintf(w, "%s %s\n", host, key)
				n += k
			}
			fmt.Fprintf(w, "[node]:2222 %s\n", key)
			require.NoError(b, w.Flush())
			require.NoError(b, f.Close())
			b.ReportAllocs()
			for b.Loop() {
				db := Open([]string{kh}, nil)
				if err := db.Want("[node]:2222"); err != nil {
					b.Fatal(err)
				}
				if len(db.PlainKeys("[node]:2222")) != 1 {
					b.Fatal("the node's line was not found")
				}
			}
		})
	}
}
