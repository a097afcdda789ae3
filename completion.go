package main

import (
	"fmt"
	"path/filepath"

	"github.com/alecthomas/kong"
	"github.com/drove-dev/drove/internal/completion"
)

// CompletionCmd is "drove completion SHELL".
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" placeholder:"SHELL" help:"bash, zsh or fish."`
}

// Help is shown under the usage line of "drove completion --help".
func (c *CompletionCmd) Help() string {
	return `Completes commands, flags, files for file flags, enum values, and node names
for -n and --jump (Host names of ~/.ssh/config and its Includes, unhashed
names of ~/.ssh/known_hosts).

  source <(drove completion bash)          # in ~/.bashrc
  source <(drove completion zsh)           # in ~/.zshrc, after compinit
  drove completion fish > ~/.config/fish/completions/drove.fish`
}

// completionNodesName is the hidden command the scripts run for node names.
const completionNodesName = "completion-nodes"

// Run writes the script for the chosen shell from the command line model.
func (c *CompletionCmd) Run(kctx *kong.Context, e *env) error {
	m := completion.FromKong(kctx.Model, completionNodesName)
	switch c.Shell {
	case "zsh":
		return completion.Zsh(e.stdout, m)
	case "fish":
		return completion.Fish(e.stdout, m)
	}
	return completion.Bash(e.stdout, m)
}

// CompletionNodesCmd prints the node names the completion scripts offer.
type CompletionNodesCmd struct{}

// Run prints one name a line from the user's ~/.ssh/config and
// ~/.ssh/known_hosts (nothing if the home directory is unknown).
func (CompletionNodesCmd) Run(e *env) error {
	if e.home == "" {
		return nil
	}
	ssh := filepath.Join(e.home, ".ssh")
	for _, n := range completion.Nodes(e.home, ssh, []string{filepath.Join(ssh, "config")}, []string{filepath.Join(ssh, "known_hosts"), filepath.Join(ssh, "known_hosts2")}) {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}
