package termview

import "github.com/drove-dev/drove/runner"

// describe is err as a phrase for a line that names node
// (runner.Describe), with the command's hint for it if there is one.
func describe(hint func(error) string, node string, err error) string {
	s := runner.Describe(node, err)
	if hint != nil && err != nil {
		if h := hint(err); h != "" {
			s += "; " + h
		}
	}
	return s
}
