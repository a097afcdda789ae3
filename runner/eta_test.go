package runner

import (
	"testing"
	"time"
)

func TestStatsETA(t *testing.T) {
	for _, c := range []struct {
		s       Stats
		elapsed time.Duration
		want    time.Duration
		ok      bool
	}{
		{Stats{Succeeded: 2, Total: 10}, time.Minute, 0, false},                              // too few jobs done
		{Stats{Succeeded: 5, Total: 10}, time.Second, 0, false},                              // too early
		{Stats{Succeeded: 5, Total: 5}, time.Minute, 0, false},                               // nothing left
		{Stats{Succeeded: 3, Failed: 1, Total: 10}, 8 * time.Second, 12 * time.Second, true}, // 2s a job, 6 left
	} {
		got, ok := c.s.ETA(c.elapsed)
		if got != c.want || ok != c.ok {
			t.Errorf("%+v.ETA(%v) = %v, %v; want %v, %v", c.s, c.elapsed, got, ok, c.want, c.ok)
		}
	}
}
