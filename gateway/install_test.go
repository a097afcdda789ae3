//go:build unix

package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drove-dev/drove/internal/sshtest"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestStartWithBinarySumReadsNoBinary: given the binary's SHA-256, Start
// finds the gateway's copy by it and never reads Binary, so a controller
// starting many gateways hashes its binary once, not once per gateway.
// The "gateway" is an in-process SSH server running commands with sh in
// this test's directory, whose copy of drove is a script that says the
// ready line and exits (so Start fails at the hello).
func TestStartWithBinarySumReadsNoBinary(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	script := []byte("#!/bin/sh\necho ran >started\necho \"drove-gateway-ready $3\"\n")
	h := sha256.Sum256(script)
	sum := hex.EncodeToString(h[:])
	bin := filepath.Join(".cache/drove/gateway-"+sum[:16], "drove")
	require.NoError(t, os.MkdirAll(filepath.Dir(bin), 0o700))
	require.NoError(t, os.WriteFile(bin, script, 0o700))

	srv := sshtest.New(t, sshtest.Options{})
	client, err := ssh.Dial("tcp", srv.Addr, &ssh.ClientConfig{User: "u", Auth: []ssh.AuthMethod{ssh.PublicKeys(sshtest.NewSigner(t))},
		HostKeyCallback: ssh.FixedHostKey(srv.Signer.PublicKey()), Timeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })

	missing := filepath.Join(dir, "no-such-drove")
	so := StartOptions{Name: "gw1", Binary: missing, BinarySum: sum, Timeout: 20 * time.Second,
		Serve: func(nonce string) string { return "gateway --ready " + nonce }}
	_, err = Start(context.Background(), client, so)
	// The script exits after the ready line, so the hello fails (its send
	// or its answer, whichever the script's exit beats).
	require.Error(t, err)
	require.NotErrorIs(t, err, os.ErrNotExist, "Start must not read Binary when given BinarySum")
	require.FileExists(t, "started", "Start must run the gateway's copy found by BinarySum")

	// Without the sum, Start hashes Binary, which is missing here.
	so.BinarySum = ""
	_, err = Start(context.Background(), client, so)
	require.ErrorIs(t, err, os.ErrNotExist)

	so.BinarySum = "abc"
	_, err = Start(context.Background(), client, so)
	require.ErrorContains(t, err, "not a SHA-256")
}
