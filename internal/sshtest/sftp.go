package sshtest

import (
	"errors"
	"io"

	gliderssh "github.com/gliderlabs/ssh"
	"github.com/pkg/sftp"
)

// SFTPServer is an "sftp" subsystem handler serving the real file system
// with pkg/sftp's server. Relative paths are the test process's working
// directory: pkg/sftp's WithServerWorkingDirectory would also rewrite the
// target text of symbolic links, which sshd keeps as given.
func SFTPServer() gliderssh.SubsystemHandler {
	return func(s gliderssh.Session) {
		srv, err := sftp.NewServer(s)
		if err != nil {
			_ = s.Exit(1)
			return
		}
		if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
			_ = s.Exit(1)
			return
		}
		_ = s.Exit(0)
	}
}

// SFTPHandlers is an "sftp" subsystem handler serving h with pkg/sftp's
// request server: a node whose file system is whatever h says, for tests
// of what a hostile node can send.
func SFTPHandlers(h sftp.Handlers) gliderssh.SubsystemHandler {
	return func(s gliderssh.Session) {
		srv := sftp.NewRequestServer(s, h)
		if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
			_ = s.Exit(1)
			return
		}
		_ = s.Exit(0)
	}
}
