package live

import (
	"sync"

	"newsflash/internal/metrics"
)

// reader states.
const (
	stateOpen     = iota
	stateSlow     // the queue overflowed: close with 1008
	stateShutdown // the server is stopping: close with 1001
	stateClosed   // told to go, or gone: nothing more is queued or started
)

// hooks connect a reader to its transport.
type hooks struct {
	// kill closes the transport at once.
	kill func()
	// wake tells a transport with a goroutine of its own (SSE) that there
	// is work; called without reader.mu held. Nil when run is set.
	wake func()
	// run is the writer of a transport without a goroutine of its own
	// (WebSocket): scheduled on the hub's workers when there is work and it
	// is not running, it drains with next until next says stop. It must not
	// block on the peer: when the peer cannot take more, it calls block, and
	// unblock once the peer has taken it.
	run func(*reader)
	// schedule has run called soon on one of the hub's workers.
	schedule func(*reader)
}

// reader is one connected WebSocket or SSE client.
type reader struct {
	// set at construction
	group *group
	after uint64 // events up to this seq came as history
	max   int    // queue bound
	hooks
	addrKey   string // the client address it was admitted from
	transport int

	// guarded by mu
	mu      sync.Mutex
	first   [][]byte // welcome and history, written before the queue
	queue   []queued
	state   int
	gone    string // why it was told to go: metrics.ReasonSlow or ReasonShutdown
	running bool   // run is scheduled or under way
	blocked bool   // the peer has not taken what run wrote last
}

// queued is a frame waiting for the writer, with its event's publication
// time (Unix ns) for the delivery lag.
type queued struct {
	frame []byte
	at    int64
}

func newReader(g *group, after uint64, max int, first [][]byte, hk hooks) *reader {
	return &reader{group: g, after: after, max: max, first: first, hooks: hk}
}

// signal hands the reader's pending work to its writer: it wakes the
// transport's goroutine, or schedules run when it is not running already.
func (r *reader) signal() {
	if r.run == nil {
		if r.wake != nil {
			r.wake()
		}
		return
	}
	r.mu.Lock()
	start := r.startLocked()
	r.mu.Unlock()
	if start {
		r.schedule(r)
	}
}

// startLocked reports whether run should be scheduled now, and marks it
// running if so.
func (r *reader) startLocked() bool {
	if r.running || r.blocked || r.state == stateClosed || (r.state == stateOpen && len(r.first) == 0 && len(r.queue) == 0) {
		return false
	}
	r.running = true
	return true
}

// enqueue adds a frame without blocking; a full queue makes the reader slow
// and drops what it held, since it will resume from history anyway. It
// reports whether run is to be scheduled, which the caller does (Deliver
// schedules its readers together).
func (r *reader) enqueue(frame []byte, at int64) bool {
	r.mu.Lock()
	if r.state != stateOpen {
		r.mu.Unlock()
		return false
	}
	if len(r.queue) >= r.max {
		r.state = stateSlow
		r.queue = nil
		r.first = nil
	} else {
		r.queue = append(r.queue, queued{frame, at})
	}
	if r.run == nil {
		r.mu.Unlock()
		if r.wake != nil {
			r.wake()
		}
		return false
	}
	start := r.startLocked()
	r.mu.Unlock()
	return start
}

// block is called by run, which then returns, when the peer has not taken
// everything written: run is not scheduled again until unblock.
func (r *reader) block() {
	r.mu.Lock()
	r.blocked = true
	r.running = false
	r.mu.Unlock()
}

// unblock is called once the peer has taken what was written.
func (r *reader) unblock() {
	r.mu.Lock()
	r.blocked = false
	start := r.startLocked()
	r.mu.Unlock()
	if start {
		r.schedule(r)
	}
}

// take hands the writer everything queued, reusing buf, the publication
// time of its oldest event (0 if none) and the state.
func (r *reader) take(buf [][]byte) ([][]byte, int64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	buf, at := r.takeLocked(buf)
	if r.state == stateSlow || r.state == stateShutdown {
		r.gone = goneReason(r.state)
	}
	return buf, at, r.state
}

func (r *reader) takeLocked(buf [][]byte) ([][]byte, int64) {
	buf = append(buf[:0], r.first...)
	r.first = nil
	var at int64
	if len(r.queue) > 0 {
		at = r.queue[0].at
	}
	for _, q := range r.queue {
		buf = append(buf, q.frame)
	}
	clear(r.queue)
	r.queue = r.queue[:0]
	return buf, at
}

func goneReason(state int) string {
	if state == stateSlow {
		return metrics.ReasonSlow
	}
	return metrics.ReasonShutdown
}

// queued reports how many frames wait (metrics).
func (r *reader) queuedLen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.first) + len(r.queue)
}

// next is take for run: it returns what to write and the state, with more
// false when run should return. An open reader with nothing queued stops
// run; a reader told to go (slow, shutdown) is handed its state once, and
// is closed from then on.
func (r *reader) next(buf [][]byte) (batch [][]byte, at int64, state int, more bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case stateOpen:
		if len(r.first) == 0 && len(r.queue) == 0 {
			r.running = false
			return buf[:0], 0, stateOpen, false
		}
		batch, at = r.takeLocked(buf)
		return batch, at, stateOpen, true
	case stateClosed:
		r.running = false
		return buf[:0], 0, stateClosed, false
	default:
		st := r.state
		r.gone = goneReason(st)
		r.state = stateClosed
		return buf[:0], 0, st, true
	}
}

// setState moves an open reader to st and wakes its writer.
func (r *reader) setState(st int) {
	r.mu.Lock()
	changed := r.state == stateOpen
	if changed {
		r.state = st
		r.queue = nil
		r.first = nil
	}
	r.mu.Unlock()
	if changed {
		r.signal()
	}
}

// closeNow closes the transport without a goodbye.
func (r *reader) closeNow() {
	r.kill()
}
