// Command genknownhosts writes a large known_hosts file for benchmarking
// drove's known_hosts lookup against ssh's: -size bytes of lines for hosts
// that are not the benchmark's node, a -hashed fraction of them hashed
// (|1|salt|hash, as HashKnownHosts writes), the rest plain ("name,address"),
// with ed25519 and RSA-3072 keys (real keys, so every line parses). The same
// flags always give the same file. The node's own line is for the caller to
// append.
package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"crypto/ed25519"

	"golang.org/x/crypto/ssh"
)

func main() {
	out := flag.String("o", "", "file to write")
	size := flag.Int64("size", 34<<20, "bytes to write (about)")
	hashed := flag.Float64("hashed", 0.5, "fraction of lines with a hashed host name")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "genknownhosts: -o is required")
		os.Exit(2)
	}
	if err := generate(*out, *size, *hashed, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "genknownhosts:", err)
		os.Exit(1)
	}
}

func generate(path string, size int64, hashed float64, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	src := chachaReader{r}
	var keys []string
	for range 8 {
		_, priv, err := ed25519.GenerateKey(src)
		if err != nil {
			return err
		}
		pub, err := ssh.NewPublicKey(priv.Public())
		if err != nil {
			return err
		}
		keys = append(keys, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))))
	}
	for range 2 {
		priv, err := rsa.GenerateKey(src, 3072)
		if err != nil {
			return err
		}
		pub, err := ssh.NewPublicKey(&priv.PublicKey)
		if err != nil {
			return err
		}
		keys = append(keys, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	for i := 0; n < size; i++ {
		name := fmt.Sprintf("host%d.bench.example", i)
		addr := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		var host string
		if r.Float64() < hashed {
			salt := make([]byte, sha1.Size)
			_, _ = src.Read(salt)
			m := hmac.New(sha1.New, salt)
			m.Write([]byte(name))
			host = "|1|" + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(m.Sum(nil))
		} else {
			host = name + "," + addr
		}
		line := host + " " + keys[r.IntN(len(keys))] + "\n"
		k, err := w.WriteString(line)
		if err != nil {
			f.Close()
			return err
		}
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// chachaReader makes a math/rand generator an io.Reader, for reproducible
// keys and salts.
type chachaReader struct{ r *rand.Rand }

func (c chachaReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c.r.Uint32())
	}
	return len(p), nil
}
