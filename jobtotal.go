package main

import (
	"errors"
	"io"
	"os"

	"github.com/drove-dev/drove/jobs"
)

// countJobs counts the jobs the run will read, for the status line's
// total: the --job commands and the lines of the job files (all regular
// files; see jobsAreFinite) read the way the run reads them, blank lines
// left out, and without those skip leaves out (--resume). It is one
// streaming pass over each file, holding one line at a time. ok is false
// when a file cannot be read to its end; the status line then counts as
// the stream is read.
func (c *RunCmd) countJobs(skip func(jobs.Job) bool) (n int, ok bool) {
	srcs := []jobs.Source{&jobs.Strings{Cmds: c.Job, Name: "--job"}}
	for _, path := range c.JobFile {
		f, err := os.Open(path)
		if err != nil {
			return 0, false
		}
		defer f.Close()
		srcs = append(srcs, jobs.NewReader(f, path))
	}
	src := jobs.Concat(srcs...)
	for {
		j, err := src.Next()
		if err != nil {
			// io.EOF is the end; a *LineError stops the run there too,
			// but the run reports it: no total then.
			return n, isEOF(err)
		}
		if skip == nil || !skip(j) {
			n++
		}
	}
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
