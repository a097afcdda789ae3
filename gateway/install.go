package gateway

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/drove-dev/drove/internal/randhex"
)

// StartOptions say how to start drove on a gateway.
type StartOptions struct {
	Name    string    // the gateway's name, for messages
	Binary  string    // the drove binary to send when the gateway lacks it (this drove's own, unless the gateway's OS differs)
	Options Options   // what the gateway applies to the nodes it reaches
	Stderr  io.Writer // the gateway's own messages go here
	// Serve is the command line, after the binary's path, that makes it
	// say ReadyLine(nonce) and serve (the caller's command line, not this
	// package's).
	Serve func(nonce string) string
	// Timeout bounds each step (a command, the upload, the hello); 0 means
	// 30 seconds.
	Timeout time.Duration
	// BinarySum is Binary's SHA-256 in hex (SumFile), when the caller has
	// it: a caller starting many gateways hashes Binary once. Start then
	// reads Binary only to send it. "" makes Start hash Binary itself.
	BinarySum string
}

// PlatformError is a gateway whose OS or architecture the binary to send
// was not built for.
type PlatformError struct {
	Gateway string
	Uname   string // what "uname -sm" said there
	Want    string // GOOS/GOARCH of the binary
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("gateway %s runs %q; the drove binary to send is built for %s (give one built for that system)", e.Gateway, e.Uname, e.Want)
}

// Start makes sure drove is on the gateway that client reaches and starts
// "drove gateway" there over one session. drove is found by the SHA-256 of
// Binary: a copy under ~/.cache/drove/gateway-HASH/ on the gateway whose
// hash matches is used as it is; otherwise Binary is sent over SFTP to a
// temporary name in that private (0700) directory, checked and renamed.
// The gateway's standard output carries the protocol once the gateway has
// said a ready line with a nonce, so a login shell that prints greetings
// cannot confuse it. The Client's Close ends the session, which makes the
// gateway kill its jobs and exit.
func Start(ctx context.Context, client *ssh.Client, so StartOptions) (*Client, error) {
	if so.Timeout <= 0 {
		so.Timeout = 30 * time.Second
	}
	uname, err := output(ctx, client, "uname -sm", so.Timeout)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: uname: %w", so.Name, err)
	}
	if p := platform(uname); p != runtime.GOOS+"/"+runtime.GOARCH {
		return nil, &PlatformError{Gateway: so.Name, Uname: strings.TrimSpace(uname), Want: runtime.GOOS + "/" + runtime.GOARCH}
	}
	sum := so.BinarySum
	if sum == "" {
		if sum, err = SumFile(so.Binary); err != nil {
			return nil, fmt.Errorf("gateway %s: %w", so.Name, err)
		}
	}
	if len(sum) != 2*sha256.Size {
		return nil, fmt.Errorf("gateway %s: BinarySum %q is not a SHA-256 in hex", so.Name, sum)
	}
	dir := ".cache/drove/gateway-" + sum[:16]
	bin := dir + "/drove"
	if got, _ := remoteSum(ctx, client, bin, so.Timeout); got != sum {
		if err := upload(client, so.Binary, dir, bin); err != nil {
			return nil, fmt.Errorf("gateway %s: sending drove: %w", so.Name, err)
		}
		if got, err := remoteSum(ctx, client, bin, so.Timeout); err != nil || got != sum {
			return nil, fmt.Errorf("gateway %s: drove sent to %s does not check (sha256 %q, want %q): %v", so.Name, bin, got, sum, err)
		}
	}

	sess, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("gateway %s: session: %w", so.Name, err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if so.Stderr != nil {
		sess.Stderr = so.Stderr
	}
	nonce := randhex.String(12)
	if err := sess.Start("exec " + bin + " " + so.Serve(nonce)); err != nil {
		return nil, fmt.Errorf("gateway %s: starting drove: %w", so.Name, err)
	}
	// Until the hello is answered, a timer bounds the wait: on expiry the
	// session closes, which ends the reads below.
	t := time.AfterFunc(so.Timeout, func() { _ = sess.Close() })
	r := bufio.NewReaderSize(stdout, 64<<10)
	if err := skipToReady(r, ReadyLine(nonce)); err != nil {
		t.Stop()
		_ = sess.Close()
		return nil, fmt.Errorf("gateway %s: drove did not start: %w", so.Name, err)
	}
	cl, err := NewClient(so.Name, r, stdin, so.Options)
	if !t.Stop() {
		return nil, fmt.Errorf("gateway %s: no hello within %s", so.Name, so.Timeout)
	}
	if err != nil {
		_ = sess.Close()
		return nil, err
	}
	// Closing the session closes the gateway's stdin there (EOF: it kills
	// its jobs and exits). Not stdin.Close: x/crypto's CloseWrite is not
	// safe while another goroutine writes (a heartbeat, a cancel).
	cl.setCloser(sess)
	select {
	case <-cl.Done(): // given up before the closer was set
		_ = sess.Close()
	default:
	}
	return cl, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// ReadyLine is the line a gateway writes on its standard output before the
// protocol starts.
func ReadyLine(nonce string) string { return "drove-gateway-ready " + nonce }

func skipToReady(r *bufio.Reader, line string) error {
	for {
		l, err := r.ReadString('\n')
		if strings.TrimSuffix(l, "\n") == line {
			return nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("its session ended before drove said it was ready")
			}
			return err
		}
	}
}

// platform maps "uname -sm" to GOOS/GOARCH ("" parts when unknown).
func platform(uname string) string {
	f := strings.Fields(uname)
	if len(f) != 2 {
		return ""
	}
	goos := map[string]string{"Linux": "linux", "Darwin": "darwin", "FreeBSD": "freebsd", "OpenBSD": "openbsd", "NetBSD": "netbsd"}[f[0]]
	goarch := map[string]string{"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}[f[1]]
	return goos + "/" + goarch
}

// SumFile is the SHA-256 of the file name, in hex, as StartOptions.BinarySum
// wants it.
func SumFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// remoteSum is the SHA-256 of file on the gateway, "" when it is missing.
func remoteSum(ctx context.Context, client *ssh.Client, file string, timeout time.Duration) (string, error) {
	out, err := output(ctx, client, "{ sha256sum "+file+" || shasum -a 256 "+file+"; } 2>/dev/null", timeout)
	f := strings.Fields(out)
	if len(f) == 0 {
		return "", err
	}
	return f[0], nil
}

// output runs cmd in a session of its own and returns its stdout, within
// timeout.
func output(ctx context.Context, client *ssh.Client, cmd string, timeout time.Duration) (string, error) {
	sess, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = sess.Close() })
	defer stop()
	out, err := sess.Output(cmd)
	if ctx.Err() != nil {
		return "", fmt.Errorf("%q: %w", cmd, ctx.Err())
	}
	return string(out), err
}

// upload sends local to bin on the gateway, through a temporary name in
// dir, which is made private (0700).
func upload(client *ssh.Client, local, dir, bin string) error {
	c, err := sftp.NewClient(client)
	if err != nil {
		return fmt.Errorf("sftp (the gateway's sshd needs an sftp Subsystem): %w", err)
	}
	defer c.Close()
	if err := c.MkdirAll(dir); err != nil {
		return err
	}
	if err := c.Chmod(path.Dir(dir), 0o700); err != nil {
		return err
	}
	if err := c.Chmod(dir, 0o700); err != nil {
		return err
	}
	src, err := os.Open(local)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := bin + ".tmp-" + randhex.String(12)
	dst, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	if _, err := dst.ReadFrom(src); err != nil {
		dst.Close()
		_ = c.Remove(tmp)
		return err
	}
	if err := dst.Close(); err != nil {
		_ = c.Remove(tmp)
		return err
	}
	if err := c.Chmod(tmp, 0o700); err != nil {
		_ = c.Remove(tmp)
		return err
	}
	if err := c.PosixRename(tmp, bin); err != nil {
		_ = c.Remove(tmp)
		return err
	}
	return nil
}
