package syncer

import (
	"io"
	"sync"

	"github.com/drove-dev/drove/jobs"
)

// queue is the jobs.Source the runner reads: partitions are pushed as the
// crawl closes them (and, on resume, the unfinished ones first), and Next
// blocks until there is one, the crawl has ended (io.EOF) or the run is
// over. It is unbounded on purpose: a job is a few hundred bytes and its
// list is on disk, and a crawl that never waits for copies makes the total
// known sooner.
type queue struct {
	mu     sync.Mutex
	items  []jobs.Job
	closed bool
	wake   chan struct{} // one pending wake-up
	stop   chan struct{} // closed when nobody reads any more
	once   sync.Once
}

func newQueue() *queue {
	return &queue{wake: make(chan struct{}, 1), stop: make(chan struct{})}
}

// push adds a job; it never blocks.
func (q *queue) push(j jobs.Job) {
	q.mu.Lock()
	q.items = append(q.items, j)
	q.mu.Unlock()
	q.signal()
}

// close says no job will follow the queued ones.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// halt makes Next return io.EOF at once, whatever is queued: the runner
// has returned and its reader must not be left blocked.
func (q *queue) halt() { q.once.Do(func() { close(q.stop) }) }

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Next returns the next job in push order.
func (q *queue) Next() (jobs.Job, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			j := q.items[0]
			q.items[0] = jobs.Job{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return j, nil
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return jobs.Job{}, io.EOF
		}
		select {
		case <-q.wake:
		case <-q.stop:
			return jobs.Job{}, io.EOF
		}
	}
}
