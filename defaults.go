package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/drove-dev/drove/internal/config"
)

// configPaths are the defaults files drove reads, lowest precedence first.
// The zero value reads none (what tests use).
type configPaths struct {
	System string // /etc/drove/config; skipped if missing
	User   string // the user's file; skipped if missing unless Explicit
	// Explicit: User came from $DROVE_CONFIG, so a missing file is an error.
	Explicit bool
}

// userConfigPaths finds the defaults files from the environment:
// $DROVE_CONFIG replaces the user file ($XDG_CONFIG_HOME/drove/config, or
// ~/.config/drove/config); /etc/drove/config is always read first.
func userConfigPaths(getenv func(string) string, home func() (string, error)) configPaths {
	p := configPaths{System: "/etc/drove/config"}
	if f := getenv("DROVE_CONFIG"); f != "" {
		p.User, p.Explicit = f, true
		return p
	}
	if x := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		p.User = filepath.Join(x, "drove", "config")
		return p
	}
	if h, err := home(); err == nil && h != "" {
		p.User = filepath.Join(h, ".config", "drove", "config")
	}
	return p
}

// appliedDefault is one flag whose default a config file set.
type appliedDefault struct {
	Command, Flag, Value, Where string
}

// defaults resolves flags nobody gave on the command line from the config
// files: the user's file over /etc's, and in each file a [command]
// section's key over a key outside any section. It is a kong.Resolver.
type defaults struct {
	files   [][]config.Setting // highest precedence first
	applied []appliedDefault   // what Resolve returned, in order
}

var _ kong.Resolver = (*defaults)(nil)

// load reads the files in p and checks every line against the command
// line model: each key must name a flag (of the section's command, or of
// some command outside sections) and its value must parse as that flag's
// value. The error (a *config.Error) names the file and line.
func (d *defaults) load(p configPaths, app *kong.Application) error {
	for _, f := range []struct {
		path     string
		required bool
	}{{p.User, p.Explicit}, {p.System, false}} {
		if f.path == "" {
			continue
		}
		file, err := config.Load(f.path)
		if errors.Is(err, fs.ErrNotExist) && !f.required {
			continue
		}
		if err != nil {
			return err
		}
		if err := checkFile(file, app); err != nil {
			return err
		}
		d.files = append(d.files, file.Settings)
	}
	return nil
}

// configurable lists the commands whose flags a config file may set, by
// name, with those flags (help and version excluded).
func configurable(app *kong.Application) map[string][]*kong.Flag {
	out := map[string][]*kong.Flag{}
	for _, cmd := range app.Children {
		if cmd.Hidden {
			continue
		}
		for _, f := range cmd.Flags {
			if !f.Hidden {
				out[cmd.Name] = append(out[cmd.Name], f)
			}
		}
	}
	return out
}

func checkFile(file *config.File, app *kong.Application) error {
	cmds := configurable(app)
	var names []string
	for n, flags := range cmds {
		if len(flags) > 0 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, s := range file.Sections {
		if len(cmds[s.Name]) == 0 {
			return &config.Error{File: file.Path, Line: s.Line, Err: fmt.Errorf("unknown section [%s]: want one of %s", s.Name, strings.Join(names, ", "))}
		}
	}
	seen := map[[2]string]int{} // section, key -> first line
	for _, s := range file.Settings {
		bad := func(format string, args ...any) error {
			return &config.Error{File: s.File, Line: s.Line, Err: fmt.Errorf(format, args...)}
		}
		var flags []*kong.Flag
		if s.Section != "" {
			if f := findFlag(cmds[s.Section], s.Key); f != nil {
				flags = append(flags, f)
			} else {
				return bad("unknown key %q in [%s]: drove %s has no --%s", s.Key, s.Section, s.Section, s.Key)
			}
		} else {
			for _, n := range names {
				if f := findFlag(cmds[n], s.Key); f != nil {
					flags = append(flags, f)
				}
			}
			if len(flags) == 0 {
				return bad("unknown key %q: no command has --%s", s.Key, s.Key)
			}
		}
		k := [2]string{s.Section, s.Key}
		if first, ok := seen[k]; ok && !flags[0].IsSlice() {
			return bad("%s given twice (first on line %d)", s.Key, first)
		}
		seen[k] = s.Line
		var errs []error
		for _, f := range flags {
			if err := checkValue(f, s.Value); err != nil {
				errs = append(errs, err)
			}
		}
		switch {
		case len(errs) == 0:
		case len(errs) < len(flags):
			return bad("bad value for %s: %v (it suits another command: put it under that command's [section])", s.Key, errs[0])
		default:
			return bad("bad value for %s: %v", s.Key, errs[0])
		}
	}
	return nil
}

func findFlag(flags []*kong.Flag, name string) *kong.Flag {
	for _, f := range flags {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// checkValue decodes s as flag f would (into a scratch value) and checks
// enums, without touching the flag.
func checkValue(f *kong.Flag, s string) error {
	if s == "" {
		return errors.New("empty value")
	}
	scratch := reflect.New(f.Target.Type()).Elem()
	var v any = s
	if f.IsSlice() {
		v = []any{s}
	}
	if err := f.Mapper.Decode(&kong.DecodeContext{Value: f.Value, Scan: kong.Scan().PushTyped(v, kong.FlagValueToken)}, scratch); err != nil {
		return err
	}
	if f.Enum != "" && !slices.Contains(f.EnumSlice(), s) {
		return fmt.Errorf("want one of %s, got %q", strings.Join(f.EnumSlice(), ", "), s)
	}
	return nil
}

// Validate is kong.Resolver's hook; loadDefaults has checked everything.
func (d *defaults) Validate(*kong.Application) error { return nil }

// Resolve returns the config value of flag for the command on parent's
// path, or nil.
func (d *defaults) Resolve(_ *kong.Context, parent *kong.Path, flag *kong.Flag) (any, error) {
	if d == nil || parent.Command == nil {
		return nil, nil
	}
	cmd := parent.Command.Name
	for _, file := range d.files {
		for _, section := range []string{cmd, ""} {
			var vals []any
			var strs []string
			where := ""
			for _, s := range file {
				if s.Section == section && s.Key == flag.Name {
					if where == "" {
						where = s.Where()
					}
					vals, strs = append(vals, s.Value), append(strs, s.Value)
				}
			}
			if vals == nil {
				continue
			}
			d.applied = append(d.applied, appliedDefault{Command: cmd, Flag: flag.Name, Value: strings.Join(strs, ", "), Where: where})
			if flag.IsSlice() {
				return vals, nil
			}
			return strs[0], nil
		}
	}
	return nil, nil
}
