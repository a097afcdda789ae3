// Package mangen writes a man page (roff, man macros) from a kong command
// line model: one page with a section per command, its arguments and flags
// as kong knows them, plus the prose sections a caller supplies (EXIT
// STATUS, FILES, ...). The page carries no date, so it changes only when
// the command line does.
package mangen

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"
)

// Section is a top-level section of prose: Body is paragraphs separated by
// blank lines; a paragraph whose lines all start with two spaces is shown
// verbatim (examples), and a line "TAG<TAB>text" in a paragraph of such
// lines becomes a tagged paragraph (a list entry).
type Section struct {
	Name string
	Body string
}

// Page is what the model does not hold.
type Page struct {
	Section int    // manual section, 1 for commands
	Source  string // footer, e.g. "drove"
	Manual  string // header, e.g. "User Commands"
	Summary string // the NAME line after the dash
	// Description replaces the application's help text in DESCRIPTION if set.
	Description string
	// Before are sections between DESCRIPTION and COMMANDS; After follow
	// the commands (EXIT STATUS, FILES, ENVIRONMENT, EXAMPLES, SEE ALSO).
	Before, After []Section
}

// Write writes the page for app. The default command (kong's default:"")
// is listed first and marked as the default.
func Write(w io.Writer, app *kong.Application, p Page) error {
	b := &strings.Builder{}
	name := app.Name
	fmt.Fprintf(b, ".\\\" Generated from the command line model; do not edit.\n")
	fmt.Fprintf(b, ".TH %s %d \"\" %s %s\n", quote(strings.ToUpper(name)), p.Section, quote(p.Source), quote(p.Manual))
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(b, "%s \\- %s\n", escape(name), escape(p.Summary))

	cmds := commands(app)
	b.WriteString(".SH SYNOPSIS\n")
	for _, c := range cmds {
		b.WriteString(".PP\n")
		if c == app.DefaultCmd {
			fmt.Fprintf(b, "%s\n", strings.TrimSpace(fmt.Sprintf("\\fB%s\\fR [\\fB%s\\fR] %s", escape(name), escape(c.Name), escape(usageTail(c)))))
			continue
		}
		fmt.Fprintf(b, "%s\n", strings.TrimSpace(fmt.Sprintf("\\fB%s %s\\fR %s", escape(name), escape(c.Name), escape(usageTail(c)))))
	}
	b.WriteString(".SH DESCRIPTION\n")
	if p.Description != "" {
		prose(b, p.Description)
	} else {
		prose(b, app.Help)
	}
	for _, s := range p.Before {
		section(b, s)
	}

	b.WriteString(".SH COMMANDS\n")
	for _, c := range cmds {
		title := name + " " + c.Name
		if c == app.DefaultCmd {
			title += " (the default command)"
		}
		fmt.Fprintf(b, ".SS %s\n", quote(title))
		prose(b, c.Help)
		prose(b, c.Detail)
		if len(c.Positional) > 0 {
			b.WriteString(".PP\nArguments:\n")
			for _, a := range c.Positional {
				fmt.Fprintf(b, ".TP\n\\fI%s\\fR\n", escape(a.Summary()))
				prose1(b, a.Help)
			}
		}
		if flags := visible(c.Flags); len(flags) > 0 {
			b.WriteString(".PP\nFlags:\n")
			for _, f := range flags {
				fmt.Fprintf(b, ".TP\n%s\n", flagTerm(f))
				prose1(b, f.Help)
			}
		}
	}
	if flags := visible(app.Flags); len(flags) > 0 {
		b.WriteString(".SH GLOBAL FLAGS\n")
		for _, f := range flags {
			fmt.Fprintf(b, ".TP\n%s\n", flagTerm(f))
			prose1(b, f.Help)
		}
	}
	for _, s := range p.After {
		section(b, s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// commands lists the visible commands, the default first.
func commands(app *kong.Application) []*kong.Node {
	var out []*kong.Node
	if app.DefaultCmd != nil {
		out = append(out, app.DefaultCmd)
	}
	for _, c := range app.Children {
		if c.Type == kong.CommandNode && !c.Hidden && c != app.DefaultCmd {
			out = append(out, c)
		}
	}
	return out
}

func visible(flags []*kong.Flag) []*kong.Flag {
	var out []*kong.Flag
	for _, f := range flags {
		if !f.Hidden {
			out = append(out, f)
		}
	}
	return out
}

// usageTail is the synopsis after the command name: required flags,
// arguments, and [flags] when there are optional ones.
func usageTail(c *kong.Node) string {
	var parts []string
	optional := false
	for _, f := range visible(c.Flags) {
		if f.Required {
			parts = append(parts, "--"+f.Name+"="+placeholder(f))
		} else {
			optional = true
		}
	}
	if optional {
		parts = append(parts, "[flags]")
	}
	for _, a := range c.Positional {
		parts = append(parts, a.Summary())
	}
	return strings.Join(parts, " ")
}

func placeholder(f *kong.Flag) string {
	if f.PlaceHolder == "" && f.Enum != "" {
		return strings.Join(f.EnumSlice(), "|")
	}
	return strings.Trim(f.FormatPlaceHolder(), `"`)
}

// flagTerm is "-j, --job=CMD" in roff.
func flagTerm(f *kong.Flag) string {
	var s string
	if f.Short != 0 {
		s = fmt.Sprintf("\\fB\\-%s\\fR, ", escape(string(f.Short)))
	}
	s += fmt.Sprintf("\\fB\\-\\-%s\\fR", escape(f.Name))
	if !f.IsBool() && !f.IsCounter() {
		s += "=\\fI" + escape(placeholder(f)) + "\\fR"
	}
	if f.IsSlice() || f.IsCounter() {
		s += " ..."
	}
	return s
}

func section(b *strings.Builder, s Section) {
	fmt.Fprintf(b, ".SH %s\n", quote(strings.ToUpper(s.Name)))
	prose(b, s.Body)
}

// prose writes paragraphs (see Section). Within a paragraph, a run of
// indented lines after plain ones (a "Commands:" heading and its list) is
// shown verbatim too.
func prose(b *strings.Builder, text string) {
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		lines := strings.Split(strings.Trim(para, "\n"), "\n")
		for len(lines) > 0 {
			indented := strings.HasPrefix(lines[0], "  ")
			n := 1
			for n < len(lines) && strings.HasPrefix(lines[n], "  ") == indented {
				n++
			}
			run := lines[:n]
			lines = lines[n:]
			switch {
			case !indented:
				b.WriteString(".PP\n")
				prose1(b, strings.Join(run, "\n"))
			case strings.Contains(run[0], "\t"):
				for _, l := range run {
					tag, text, _ := strings.Cut(strings.TrimSpace(l), "\t")
					fmt.Fprintf(b, ".TP\n%s\n", escapeLine(tag))
					prose1(b, text)
				}
			default:
				b.WriteString(".PP\n.RS 4\n.nf\n")
				for _, l := range run {
					fmt.Fprintf(b, "%s\n", escapeLine(strings.TrimPrefix(l, "  ")))
				}
				b.WriteString(".fi\n.RE\n")
			}
		}
	}
}

// prose1 writes one paragraph's text as filled lines.
func prose1(b *strings.Builder, text string) {
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			fmt.Fprintf(b, "%s\n", escapeLine(l))
		}
	}
}

// escape makes s literal text in roff: backslashes, and hyphens as \- so
// they stay hyphen-minus (flags copy and paste).
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// escapeLine is escape for a whole input line, which must not start with a
// control character ('.' or ').
func escapeLine(s string) string {
	s = escape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// quote is a macro argument in double quotes.
func quote(s string) string {
	return `"` + strings.ReplaceAll(escape(s), `"`, `\(dq`) + `"`
}
