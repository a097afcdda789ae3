package jobs

import (
	"errors"
	"io"
	"os"
)

// Count counts the jobs a run of cmds and then the job files at paths
// would read: the commands and the files' lines, read as NewReader reads
// them (blank lines left out), less those skip leaves out (nil: none). It
// makes one streaming pass over each file, holding one line at a time. ok
// is false when a file cannot be opened or read to its end (a line too
// long ends the count: the run reports it, and no total is better than a
// wrong one).
func Count(cmds, paths []string, skip func(Job) bool) (n int, ok bool) {
	srcs := []Source{&Strings{Cmds: cmds, Name: "job"}} // origins do not matter to a count
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return 0, false
		}
		defer f.Close()
		srcs = append(srcs, NewReader(f, path))
	}
	src := Concat(srcs...)
	for {
		j, err := src.Next()
		if err != nil {
			return n, errors.Is(err, io.EOF)
		}
		if skip == nil || !skip(j) {
			n++
		}
	}
}
