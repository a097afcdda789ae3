package partition

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/drove-dev/drove/copytool"
)

// Mode is what each job line runs.
type Mode int

// The job modes.
const (
	// ModeRsync: rsync -a --from0 --files-from=LIST [ARGS] SRC/ DST/
	ModeRsync Mode = iota
	// ModeRclone: rclone copy --files-from-raw LIST [ARGS] SRC DST
	// (newline-separated lists in rclone's encoding, see ListRclone).
	ModeRclone
	// ModeList: the list path alone.
	ModeList
	// ModeTemplate: Job.Template with its placeholders filled in.
	ModeTemplate
)

var modeNames = []string{"rsync", "rclone", "list", "template"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode returns the Mode named s.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if s == n {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("partition: unknown mode %q (want rsync, rclone, list or template)", s)
}

// Placeholders are the words a Job.Template may contain. {list}, {src} and
// {dst} are replaced by shell-quoted words; {seq}, {files} and {bytes} by
// decimal numbers.
var Placeholders = []string{"{list}", "{src}", "{dst}", "{seq}", "{files}", "{bytes}"}

var placeholderRE = regexp.MustCompile(`\{[a-z]+\}`)

// Job turns partitions into shell command lines, one per partition.
type Job struct {
	Mode Mode
	// Template is the command line for ModeTemplate. It is shell text
	// written by the user; placeholders must not be quoted again.
	Template string
	// Src and Dst are used as given: they must be valid where the job
	// runs (absolute, or relative to the directory the job starts in).
	Src, Dst string
	// ToolArgs are extra arguments for rsync or rclone, one word each,
	// placed before SRC.
	ToolArgs []string
}

// ErrMultiline is returned when a word of a job line would contain a
// newline: job lines are read one per line.
var ErrMultiline = errors.New("partition: a job word contains a newline; job lines are one per line")

// Check reports whether j can format lines: a destination where the mode
// needs one, known placeholders, no newline in any word.
func (j Job) Check() error {
	switch j.Mode {
	case ModeRsync, ModeRclone:
		if j.Dst == "" {
			return fmt.Errorf("partition: %s mode needs a destination", j.Mode)
		}
	case ModeList:
		if len(j.ToolArgs) > 0 {
			return errors.New("partition: tool arguments need rsync or rclone mode")
		}
	case ModeTemplate:
		if strings.TrimSpace(j.Template) == "" {
			return errors.New("partition: template mode needs a template")
		}
		if len(j.ToolArgs) > 0 {
			return errors.New("partition: tool arguments need rsync or rclone mode; put them in the template")
		}
		if strings.ContainsAny(j.Template, "\n\r") {
			return ErrMultiline
		}
		for _, ph := range placeholderRE.FindAllString(j.Template, -1) {
			known := false
			for _, k := range Placeholders {
				known = known || ph == k
			}
			if !known {
				return fmt.Errorf("partition: template: unknown placeholder %s (known: %s)", ph, strings.Join(Placeholders, " "))
			}
		}
		if strings.Contains(j.Template, "{dst}") && j.Dst == "" {
			return errors.New("partition: the template uses {dst} but no destination was given")
		}
	default:
		return fmt.Errorf("partition: unknown mode %d", int(j.Mode))
	}
	for _, w := range append([]string{j.Src, j.Dst}, j.ToolArgs...) {
		if strings.ContainsAny(w, "\n\r") {
			return ErrMultiline
		}
	}
	return nil
}

// ListFormat returns the list format j's tool reads: ListRsync for rsync,
// ListRclone for rclone, ListNUL otherwise.
func (j Job) ListFormat() ListFormat {
	switch j.Mode {
	case ModeRsync:
		return ListRsync
	case ModeRclone:
		return ListRclone
	}
	return ListNUL
}

// Format returns the job line for p, without a trailing newline. Every word
// that comes from a path or an argument is quoted with Quote.
func (j Job) Format(p Partition) (string, error) {
	if err := j.Check(); err != nil {
		return "", err
	}
	if strings.ContainsAny(p.ListPath, "\n\r") {
		return "", ErrMultiline
	}
	switch j.Mode {
	case ModeRsync, ModeRclone:
		return copytool.Command{Tool: j.Tool(), List: p.ListPath, Args: j.ToolArgs, Src: j.Src, Dst: j.Dst}.Line(), nil
	case ModeList:
		return Quote(p.ListPath), nil
	case ModeTemplate:
		return placeholderRE.ReplaceAllStringFunc(j.Template, func(ph string) string {
			switch ph {
			case "{list}":
				return Quote(p.ListPath)
			case "{src}":
				return Quote(copytool.SafeLead(j.Src))
			case "{dst}":
				return Quote(copytool.SafeLead(j.Dst))
			case "{seq}":
				return strconv.Itoa(p.Seq)
			case "{files}":
				return strconv.Itoa(p.Files)
			default: // {bytes}; Check rejected the rest
				return strconv.FormatInt(p.Bytes, 10)
			}
		}), nil
	}
	return "", fmt.Errorf("partition: unknown mode %d", int(j.Mode))
}

// Tool is the copy tool of ModeRsync and ModeRclone (Rsync otherwise).
func (j Job) Tool() copytool.Tool {
	if j.Mode == ModeRclone {
		return copytool.Rclone
	}
	return copytool.Rsync
}

// Quote returns s as one POSIX shell word that expands to exactly s in sh,
// bash, dash and zsh: unchanged when made only of characters no shell treats
// specially, otherwise in single quotes, each inner quote closed, escaped
// with a backslash and reopened.
// Nothing in the result is ever executed or expanded. It is
// copytool.Quote.
func Quote(s string) string { return copytool.Quote(s) }
