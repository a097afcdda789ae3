package runner

import (
	"context"
	"io"
	"time"

	"github.com/drove-dev/drove/jobs"
)

// OnFailure is what a job's non-zero exit (or timeout) does to its node.
type OnFailure int

const (
	// Evict presumes the node broken (clstr): it leaves the pool and the
	// job is requeued for another node.
	Evict OnFailure = iota
	// Retry keeps the node and requeues the job for a node it has not
	// failed on.
	Retry
	// Keep keeps the node and fails the job (pssh, GNU parallel).
	Keep
)

// Node is one machine in the pool.
type Node struct {
	Name  string // shown in messages, --tag prefixes and --active-nodes
	Slots int    // jobs it runs at once
	// Connect reaches the node. It is called once, at the start, from its
	// own goroutine, and must bound its own waiting.
	Connect func(ctx context.Context) (Host, error)
}

// Config is one run.
type Config struct {
	Nodes []Node
	// Jobs is read one job at a time as slots come free, so a stream is run
	// while it is still being written and memory does not grow with it.
	Jobs jobs.Source
	// EachNode, when set, replaces Jobs: run this command once on every
	// node, whatever its slots. Nothing is requeued or evicted.
	EachNode string

	OnFailure   OnFailure
	MaxAttempts int           // distinct nodes a job may fail on before it is failed; 0 = unlimited
	MaxSlots    int           // slots busy at once (--max-nodes); 0 = unlimited
	MaxNodeUses int           // jobs a node runs before it retires; 0 = unlimited
	Timeout     time.Duration // per job attempt; 0 = none
	// JobFault, when set, is asked about each failed attempt that its node
	// answered (the JobFailed event to come; not a *NodeError, ErrKilled
	// or ErrJobUnstartable). True says the failure is the job's own and
	// the node is healthy: under Evict and Retry the node stays in the
	// pool, blamed for nothing, and the job is requeued, up to
	// MaxAttempts attempts, on a node it has not failed on if one is left,
	// else again on a node where it failed this way. Under Keep the job
	// fails, as always. It is called from the scheduler's goroutine and
	// must be quick. With MaxAttempts 0 such a job fails after
	// FaultAttempts attempts: no eviction ends its tries.
	JobFault func(Event) bool

	Stdout, Stderr *Output // nil = discard
	Tag            bool    // prefix every output line with "node: "

	// Drain, when closed, stops the run from starting jobs; running ones
	// finish. Cancelling Run's context kills running jobs on their nodes.
	Drain <-chan struct{}
	// NodeUpdates, when not nil, receives the whole node list again each
	// time it changes: new nodes join the pool; nodes no longer listed
	// finish their running jobs and take no new ones; a changed slot count
	// applies from the next free slot.
	NodeUpdates <-chan []Node
	// ReadmitAfter, when positive, probes an evicted node after this long
	// (a fresh connection and "true") and puts it back in the pool if the
	// probe passes; each further probe waits twice as long, MaxReadmits
	// probes in all (0 = 3).
	ReadmitAfter time.Duration
	MaxReadmits  int
	// JobOutput, when set, is asked for extra writers for each attempt
	// (for --results); finish is called with the attempt's error when it
	// ends.
	JobOutput func(job jobs.Job, attempt int, node string) (stdout, stderr io.Writer, finish func(error))
	// FiniteJobs says Jobs ends by itself (command-line jobs, regular
	// files): after an interrupt the rest is read and listed as never run.
	// A pipe may never end, so without it the rest is left unread.
	FiniteJobs bool
	// Events receives every event, in order, from one goroutine.
	Events func(Event)
}

// FaultAttempts is how many attempts a job whose failures JobFault calls
// its own gets when MaxAttempts is 0.
const FaultAttempts = 3
