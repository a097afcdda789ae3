package gateway

import (
	"fmt"
	"sync/atomic"
	"time"
)

// The heartbeat: SSH keepalives catch a dead network, but not a gateway
// whose drove is stopped or wedged while its sshd still answers them, nor,
// on the gateway, a controller that stopped talking. So, when
// Options.Heartbeat is set, the controller pings every Heartbeat and the
// gateway answers each ping with a pong:
//
//   - the gateway gives its controller up when it has heard nothing from
//     it for Heartbeat*HeartbeatMisses: it kills every job it runs, closes
//     its node connections and ends (Serve returns a *SilentError), so
//     that a job its controller requeues elsewhere does not also go on
//     running here;
//   - the controller gives the gateway up when it has waited one interval
//     more than that for a frame, so that the gateway is, as a rule,
//     already killing its jobs when the controller requeues them.
//
// The controller's wait counts only while it waits for the network: while
// it hands a job's output to a slow reader here (a paused pager), the
// gateway is slowed, not silent.

// SilentError is the other side of a conversation that said nothing for
// For: a gateway whose drove is stopped or wedged, a network cut, or a
// controller gone silent.
type SilentError struct {
	Who string // "the gateway" or "the controller"
	For time.Duration
}

func (e *SilentError) Error() string {
	return fmt.Sprintf("%s said nothing for %s (heartbeat)", e.Who, e.For)
}

// heartbeat is Options' heartbeat as durations.
type heartbeat struct {
	every  time.Duration // 0: no heartbeat
	misses int
}

func heartbeatOf(o Options) heartbeat {
	return heartbeat{every: time.Duration(o.Heartbeat), misses: max(o.HeartbeatMisses, 1)}
}

// gatewayWindow is how long a gateway waits for a silent controller.
func (h heartbeat) gatewayWindow() time.Duration { return h.every * time.Duration(h.misses) }

// controllerWindow is how long a controller waits for a silent gateway.
func (h heartbeat) controllerWindow() time.Duration { return h.gatewayWindow() + h.every }

// ControllerWindow is how long a controller with these options waits for a
// gateway that says nothing before it gives it up (0: it never does).
func (o Options) ControllerWindow() time.Duration {
	h := heartbeatOf(o)
	if h.every <= 0 {
		return 0
	}
	return h.controllerWindow()
}

// watch pings the gateway every interval and gives it up (lose) when the
// reader has waited longer than the controller's window for a frame. It
// returns when the gateway is gone.
func (cl *Client) watch(h heartbeat) {
	t := time.NewTicker(h.every)
	defer t.Stop()
	var (
		seq      uint64
		inFlight atomic.Bool // a ping still being written (the gateway may not read)
	)
	for {
		select {
		case <-t.C:
		case <-cl.done:
			return
		}
		if since := cl.waiting.Load(); since != 0 {
			if silent := time.Since(time.Unix(0, since)); silent > h.controllerWindow() {
				cl.lose(&SilentError{Who: "the gateway", For: silent.Truncate(time.Millisecond)})
				return
			}
		}
		if inFlight.CompareAndSwap(false, true) {
			seq++
			go func(id uint64) {
				defer inFlight.Store(false)
				_ = cl.c.send(&frame{Kind: kindPing, ID: id})
			}(seq)
		}
	}
}
