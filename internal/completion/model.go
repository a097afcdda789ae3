// Package completion writes shell completion scripts (bash, zsh, fish)
// from a kong command line model, and finds the host names to offer for
// node flags. The scripts are static: flags, commands and enum values are
// written into them; node names are asked of the program at completion
// time (NodesCommand), so they follow ~/.ssh as it changes.
package completion

import (
	"strings"

	"github.com/alecthomas/kong"
)

// Kind is what a flag's value (or an argument) completes to.
type Kind int

const (
	None  Kind = iota // a flag without a value
	Value             // a value nothing completes (a number, a command)
	File              // a path
	Dir               // a directory
	Node              // a host name (see Nodes)
	Enum              // one of the flag's enum values
)

// kindOf reads the completion kind of a value from its placeholder: FILE
// is a path, DIR (and SRC/DST) a directory, SPEC, HOST(S), NODE(S) a node; a
// "completion" tag (file, dir, node, none) overrides it.
func kindOf(v *kong.Value, placeholder string) Kind {
	switch v.Tag.Get("completion") {
	case "file":
		return File
	case "dir":
		return Dir
	case "node":
		return Node
	case "none":
		return Value
	}
	if v.Enum != "" {
		return Enum
	}
	switch strings.TrimSuffix(placeholder, "...") {
	case "FILE", "PATH":
		return File
	case "DIR", "SRC", "DST":
		return Dir
	case "SPEC", "HOST", "HOSTS", "NODE", "NODES", "NODELIST", "HOSTLIST":
		return Node
	}
	return Value
}

// flag is one flag as the scripts need it.
type flag struct {
	Long   string
	Short  rune
	Help   string // first sentence
	Kind   Kind
	Enum   []string
	Repeat bool
}

// command is one command with its flags (the root's included).
type command struct {
	Name    string
	Help    string
	Default bool
	Flags   []flag
	Args    []flag // positional arguments, in order (Kind and Enum set)
}

// Model is what the scripts are written from.
type Model struct {
	Name     string // the program, e.g. "drove"
	Commands []command
	// NodesCommand is the subcommand that prints node names, one a line
	// (e.g. "completion-nodes"); empty: nodes are not completed.
	NodesCommand string
}

// FromKong reads app's visible commands and flags. The default command
// comes first.
func FromKong(app *kong.Application, nodesCommand string) Model {
	m := Model{Name: app.Name, NodesCommand: nodesCommand}
	var root []flag
	for _, f := range app.Flags {
		if !f.Hidden {
			root = append(root, newFlag(f))
		}
	}
	var cmds []*kong.Node
	if app.DefaultCmd != nil {
		cmds = append(cmds, app.DefaultCmd)
	}
	for _, c := range app.Children {
		if c.Type == kong.CommandNode && !c.Hidden && c != app.DefaultCmd {
			cmds = append(cmds, c)
		}
	}
	for _, c := range cmds {
		cmd := command{Name: c.Name, Help: sentence(c.Help), Default: c == app.DefaultCmd}
		for _, f := range c.Flags {
			if !f.Hidden {
				cmd.Flags = append(cmd.Flags, newFlag(f))
			}
		}
		cmd.Flags = append(cmd.Flags, root...)
		for _, a := range c.Positional {
			ph := a.Tag.PlaceHolder
			if ph == "" {
				ph = strings.ToUpper(a.Name)
			}
			arg := flag{Long: a.Name, Help: sentence(a.Help), Kind: kindOf(a, ph)}
			if arg.Kind == Enum {
				arg.Enum = a.EnumSlice()
			}
			cmd.Args = append(cmd.Args, arg)
		}
		m.Commands = append(m.Commands, cmd)
	}
	return m
}

func newFlag(f *kong.Flag) flag {
	out := flag{Long: f.Name, Short: f.Short, Help: sentence(f.Help), Repeat: f.IsSlice() || f.IsCounter()}
	if f.IsBool() || f.IsCounter() {
		out.Kind = None
		return out
	}
	out.Kind = kindOf(f.Value, f.PlaceHolder)
	if out.Kind == Enum {
		out.Enum = f.EnumSlice()
	}
	return out
}

// sentence is the first sentence of s, on one line, for a menu.
func sentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}
