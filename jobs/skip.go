package jobs

// Skip is a Source that leaves out the jobs for which skip returns true,
// calling onSkip for each (for counting). Errors from src pass through with
// their job.
func Skip(src Source, skip func(Job) bool, onSkip func(Job)) Source {
	return &skipper{src: src, skip: skip, onSkip: onSkip}
}

type skipper struct {
	src    Source
	skip   func(Job) bool
	onSkip func(Job)
}

func (s *skipper) Next() (Job, error) {
	for {
		j, err := s.src.Next()
		if err != nil || !s.skip(j) {
			return j, err
		}
		if s.onSkip != nil {
			s.onSkip(j)
		}
	}
}
