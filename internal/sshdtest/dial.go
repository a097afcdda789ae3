//go:build unix

package sshdtest

import (
	"context"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// dialTimeout bounds the TCP connect and, separately, the SSH handshake of
// Dial.
const dialTimeout = 5 * time.Second

// ClientConfig returns an x/crypto client configuration that logs in as the
// login user with the client key and checks host keys against KnownHosts.
func (c *Cluster) ClientConfig() (*ssh.ClientConfig, error) {
	cb, err := knownhosts.New(c.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	return &ssh.ClientConfig{
		User:              c.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(c.Signer)},
		HostKeyCallback:   cb,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           dialTimeout,
	}, nil
}

// Dial connects to c.Nodes[i] with x/crypto/ssh. Both the TCP connect and
// the handshake have a deadline, so a frozen node gives an error rather
// than a hang. The caller closes the client.
func (c *Cluster) Dial(ctx context.Context, i int) (*ssh.Client, error) {
	cfg, err := c.ClientConfig()
	if err != nil {
		return nil, err
	}
	n := c.Nodes[i]
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", n.Addr)
	if err != nil {
		return nil, fmt.Errorf("sshdtest: dial %s: %w", n.Name, err)
	}
	if err := conn.SetDeadline(time.Now().Add(dialTimeout)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("sshdtest: dial %s: %w", n.Name, err)
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, n.Addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("sshdtest: dial %s: %w", n.Name, err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		cc.Close()
		return nil, fmt.Errorf("sshdtest: dial %s: %w", n.Name, err)
	}
	return ssh.NewClient(cc, chans, reqs), nil
}

// DialNode is Dial for tests: it fails the test on error and closes the
// client at cleanup.
func (c *Cluster) DialNode(t TB, i int) *ssh.Client {
	t.Helper()
	client, err := c.Dial(context.Background(), i)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}
