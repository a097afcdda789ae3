module github.com/drove-dev/drove

go 1.26.0

require (
	github.com/alecthomas/kong v1.17.0
	github.com/charlievieth/fastwalk v1.0.14
	github.com/gliderlabs/ssh v0.3.8
	github.com/kevinburke/ssh_config v1.6.0
	github.com/pkg/sftp v1.13.12
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5
	golang.org/x/crypto v0.58.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
)

require (
	github.com/anmitsu/go-shlex v0.0.0-20200514113438-38f4b401e2be // indirect
	github.com/kr/fs v0.1.0 // indirect
)
