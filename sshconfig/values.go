package sshconfig

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseYesNo parses an ssh_config flag: yes/true or no/false, any case. The
// second result is false for anything else.
func ParseYesNo(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "yes", "true":
		return true, true
	case "no", "false":
		return false, true
	}
	return false, false
}

// ParseSeconds parses an ssh_config time value: a number of seconds, or an
// OpenSSH time format such as 1m30s.
func ParseSeconds(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("negative time")
		}
		return time.Duration(n) * time.Second, nil
	}
	dur, err := time.ParseDuration(strings.ToLower(v))
	if err != nil || dur < 0 {
		return 0, fmt.Errorf("bad time %q", v)
	}
	return dur, nil
}

// logLevels are OpenSSH's LogLevel names, quietest first.
var logLevels = []string{"QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3"}

// ParseLogLevel returns the LogLevel name v stands for, in upper case
// (DEBUG is DEBUG1), and whether v is one.
func ParseLogLevel(v string) (string, bool) {
	for _, l := range logLevels {
		if strings.EqualFold(v, l) {
			if l == "DEBUG" {
				l = "DEBUG1"
			}
			return l, true
		}
	}
	return "", false
}

// LogLevelRank orders LogLevel names as ParseLogLevel returns them, quietest
// lowest; "" counts as INFO.
func LogLevelRank(l string) int {
	if l == "" {
		l = "INFO"
	}
	for i, x := range logLevels {
		if x == l {
			return i
		}
	}
	return 3
}
