package runner

import "time"

// ETA is the time left, from the average rate so far, once at least three
// jobs and two seconds have gone by; elapsed is the time since the run
// started. While the job stream is open it is the time left for the jobs
// known so far.
func (s Stats) ETA(elapsed time.Duration) (time.Duration, bool) {
	done := s.Done()
	if done < 3 || elapsed < 2*time.Second || s.Total <= done {
		return 0, false
	}
	per := elapsed / time.Duration(done)
	return per * time.Duration(s.Total-done), true
}
