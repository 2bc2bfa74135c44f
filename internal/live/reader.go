package live

import (
	"sync"
)

// reader states.
const (
	stateOpen     = iota
	stateSlow     // the queue overflowed: close with 1008
	stateShutdown // the server is stopping: close with 1001
)

// reader is one connected WebSocket or SSE client.
type reader struct {
	// set at construction
	group *group
	after uint64        // events up to this seq came as history
	wake  chan struct{} // capacity 1: something to do
	max   int           // queue bound

	kill func() // closes the transport at once

	// guarded by mu
	mu    sync.Mutex
	queue [][]byte
	state int
}

func newReader(g *group, after uint64, max int) *reader {
	return &reader{group: g, after: after, wake: make(chan struct{}, 1), max: max}
}

func (r *reader) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// enqueue adds a frame without blocking; a full queue makes the reader slow
// and drops what it held, since it will resume from history anyway.
func (r *reader) enqueue(frame []byte) {
	r.mu.Lock()
	if r.state != stateOpen {
		r.mu.Unlock()
		return
	}
	if len(r.queue) >= r.max {
		r.state = stateSlow
		r.queue = nil
	} else {
		r.queue = append(r.queue, frame)
	}
	r.mu.Unlock()
	r.signal()
}

// take hands the writer everything queued, reusing buf, and the state.
func (r *reader) take(buf [][]byte) ([][]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	buf = append(buf[:0], r.queue...)
	clear(r.queue)
	r.queue = r.queue[:0]
	return buf, r.state
}

// setState moves an open reader to st and wakes its writer.
func (r *reader) setState(st int) {
	r.mu.Lock()
	if r.state == stateOpen {
		r.state = st
		r.queue = nil
	}
	r.mu.Unlock()
	r.signal()
}

// closeNow closes the transport without a goodbye.
func (r *reader) closeNow() {
	r.kill()
}
